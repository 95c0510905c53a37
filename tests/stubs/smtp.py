"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email.policy
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller, bound to a port the OS picks (port=0)."""

    def _trigger_server(self) -> None:
        # The listener is bound by now; learn its port before Controller connects to it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpStub:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._refused: dict[str, str] = {}
        self._rcpt_delay = 0.0
        self._lock = threading.Lock()
        self._controller = _EphemeralPortController(self, hostname="127.0.0.1", port=0)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    def mailer(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """A MAILERS entry that sends here."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": self.host, "port": self.port, "timeout": timeout},
        }

    def refuse(self, address: str, *, reply: str = "550 5.1.1 User unknown") -> None:
        """Answer RCPT TO for this address with reply (a 5xx is permanent, a 4xx is not)."""
        self._refused[address.lower()] = reply

    def stall_rcpt(self, seconds: float) -> None:
        """Wait this long before answering RCPT TO, to provoke client timeouts."""
        self._rcpt_delay = seconds

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [
            mail.message
            for mail in self.messages
            if address.lower() in (rcpt.lower() for rcpt in mail.rcpt_tos)
        ]

    def assert_nothing_sent(self) -> None:
        assert self.messages == [], f"unexpected mail: {self.messages}"

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # aiosmtpd handler hooks

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._rcpt_delay:
            await asyncio.sleep(self._rcpt_delay)
        refused = self._refused.get(address.lower())
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            self.messages.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=message,
                )
            )
        return "250 Message accepted for delivery"
