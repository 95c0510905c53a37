"""The contract every notifier keeps: a Page in, the provider's message id out, or NotifierError."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from oncall.models import ContactKind


@dataclass(frozen=True)
class Page:
    """One message to one person over one contact method, as the paging engine hands it over."""

    notification_id: int  # our id; providers that accept an idempotency key get it
    method: ContactKind
    address: str  # email address, E.164 phone number, Slack user id (U…), or https URL
    subject: str  # e.g. "[SEV1] INC-42 Database down"
    text: str  # plain text body
    html: str = ""  # email only; "" = text only
    ack_url: str = ""  # signed one-click acknowledge link ("" for test/verification messages)
    incident_url: str = ""
    secret: str = ""  # webhook signing secret
    payload: Mapping[str, Any] = field(default_factory=dict)  # JSON body for webhooks


class NotifierError(Exception):
    """A delivery attempt failed.

    permanent=True: the address or our credentials are wrong, so retrying as things stand cannot
    help. permanent=False: network errors, timeouts, provider 5xx and rate limits; retry_after
    (seconds) is the provider's hint when it gave one.

    misconfigured=True (with permanent): the fault is Tocsin's own provider settings (missing or
    revoked credentials, a refused sender), not the person's address. The engine must not
    disable everyone's contact methods over it; it keeps retrying so pages go out once an admin
    fixes the settings.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        misconfigured: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.misconfigured = misconfigured

    @property
    def address_is_bad(self) -> bool:
        return self.permanent and not self.misconfigured

    def __repr__(self) -> str:
        return (
            f"NotifierError({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, misconfigured={self.misconfigured})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds from args alone and would lose the keyword-only fields, so the
        # error could not cross a process boundary (a task result, a worker pool).
        return (
            _rebuild_error,
            (self.message, self.permanent, self.retry_after, self.misconfigured),
        )


def _rebuild_error(
    message: str, permanent: bool, retry_after: float | None, misconfigured: bool = False
) -> NotifierError:
    return NotifierError(
        message, permanent=permanent, retry_after=retry_after, misconfigured=misconfigured
    )


class Notifier(ABC):
    """Delivers pages over one channel. Stateless: settings are read on every call."""

    method: ClassVar[ContactKind]

    @abstractmethod
    def notify(self, page: Page) -> str:
        """Send the page; return the provider's message id, raise NotifierError on failure."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are GMT; a naive result means the header left the zone out.
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def truncate(text: str, limit: int) -> str:
    """Cut text to at most limit characters, at a word boundary when one is near, with "…"."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Only back off to a word boundary when it costs little; a long URL-like word is cut anyway.
    if space >= limit * 3 // 4:
        cut = cut[:space]
    return cut.rstrip() + "…"
