"""Email pages through Django's default mailer (SMTP in production, configured by EMAIL_URL)."""

from __future__ import annotations

import smtplib
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.html import escape

from oncall.models import ContactKind
from oncall.notifiers.base import Notifier, NotifierError, Page


class EmailNotifier(Notifier):
    method = ContactKind.EMAIL

    def notify(self, page: Page) -> str:
        message_id = make_msgid(idstring=f"tocsin.{page.notification_id}", domain=_msgid_domain())
        message = EmailMultiAlternatives(
            # A line break in a header is an injection attempt or a template slip; never an error
            # worth losing a page over.
            subject=" ".join(page.subject.split()),
            body=_text_body(page),
            to=[page.address],
            headers={
                "Message-ID": message_id,
                "X-Tocsin-Notification": str(page.notification_id),
                # RFC 3834: keeps vacation responders from answering a page.
                "Auto-Submitted": "auto-generated",
            },
        )
        if page.html:
            message.attach_alternative(_html_body(page), "text/html")
        try:
            message.send(using="default")
        except smtplib.SMTPRecipientsRefused as error:
            raise _recipients_refused(error) from error
        except (smtplib.SMTPConnectError, smtplib.SMTPHeloError) as error:
            # The server greeted us with an error or is overloaded; another attempt may land on a
            # healthy server, whatever the reply code.
            raise NotifierError(f"SMTP server unavailable: {error}", permanent=False) from error
        except smtplib.SMTPResponseException as error:
            # Sender refused, DATA refused, authentication failed: 5xx says the server will keep
            # refusing this message (our credentials or From address), 4xx asks us to come back.
            permanent = 500 <= error.smtp_code < 600
            raise NotifierError(
                f"SMTP error {error.smtp_code}: {_reply_text(error.smtp_error)}",
                permanent=permanent,
                # Not the recipient's fault (that is a refused RCPT, above): ours to fix.
                misconfigured=permanent,
            ) from error
        except OSError as error:
            # Connection refused, timeouts, resets, and smtplib's other exceptions (SMTPException
            # is an OSError): nothing says the address is wrong.
            raise NotifierError(f"SMTP delivery failed: {error!r}", permanent=False) from error
        except ValueError as error:
            # Django refuses an address it cannot parse before talking to the server.
            raise NotifierError(f"Invalid email address: {error}", permanent=True) from error
        return message_id


def _text_body(page: Page) -> str:
    lines = [page.text.rstrip()]
    links = []
    if page.ack_url and page.ack_url not in page.text:
        links.append(f"Acknowledge: {page.ack_url}")
    if page.incident_url and page.incident_url not in page.text:
        links.append(f"Incident: {page.incident_url}")
    if links:
        lines += ["", *links]
    return "\n".join(lines) + "\n"


def _html_body(page: Page) -> str:
    """The caller's HTML, with the ack link added when its template left it out."""
    html = page.html
    if not page.ack_url or page.ack_url in html or escape(page.ack_url) in html:
        return html
    link = f'<p><a href="{escape(page.ack_url)}">Acknowledge</a></p>'
    end = html.lower().rfind("</body")
    if end == -1:
        return html + link
    return html[:end] + link + html[end:]


def _recipients_refused(error: smtplib.SMTPRecipientsRefused) -> NotifierError:
    # We send to one recipient, so this holds its RCPT reply.
    code, reply = next(iter(error.recipients.values()), (0, b""))
    return NotifierError(
        f"Recipient refused ({code}): {_reply_text(reply)}",
        permanent=500 <= code < 600,
    )


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _msgid_domain() -> str:
    return urlsplit(settings.BASE_URL).hostname or "localhost"
