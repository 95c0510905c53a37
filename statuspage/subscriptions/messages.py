"""What a subscriber is told: each event's email (text and HTML, rendered once per event and
batch, the subscriber's own address, Message-ID and unsubscribe link filled in) and its webhook
document. statuspage.subscriptions.delivery sends them."""

from __future__ import annotations

import email.policy
import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from statuspage import links
from statuspage.models import (
    MAINTENANCE_EVENTS,
    SubscriberNotification,
)
from statuspage.subscriptions import tokens, webhooks

# Stands for the subscriber's own unsubscribe link in an event's text, rendered once per
# event and batch; letters only, so escaping leaves it as it is.
UNSUBSCRIBE_PLACEHOLDER = "TOCSINUNSUBSCRIBEURL"


class EventContents:
    """Each event's text and webhook document, made once per batch, not once per row."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._emails: dict[str, tuple[str, str, str]] = {}
        self._documents: dict[str, dict[str, Any]] = {}
        self._templates: dict[str, bytes | None] = {}

    def email(self, row: SubscriberNotification) -> tuple[str, str, str]:
        if row.event_key not in self._emails:
            context = {**_event_context(row), "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER}
            self._emails[row.event_key] = (
                " ".join(render_to_string("statuspage/email/update_subject.txt", context).split()),
                render_to_string("statuspage/email/update.txt", context),
                render_to_string("statuspage/email/update.html", context),
            )
        return self._emails[row.event_key]

    def template(self, row: SubscriberNotification) -> bytes | None:
        if row.event_key not in self._templates:
            subject, text, html = self.email(row)
            self._templates[row.event_key] = email_template(
                subject=subject, text=text, html=html, event_key=row.event_key
            )
        return self._templates[row.event_key]

    def document(self, row: SubscriberNotification) -> dict[str, Any]:
        if row.event_key not in self._documents:
            event: dict[str, Any]
            if row.public_update is not None:
                event = {"incident": webhooks.incident_document(row.public_update)}
            elif row.maintenance is not None:
                event = {
                    "incident": webhooks.maintenance_document(
                        row.maintenance, row.maintenance_event, row.created_at
                    )
                }
            elif row.component_change is not None:
                event = webhooks.component_update_document(row.component_change)
            else:
                raise ValueError(f"notification {row.pk} names no event")
            self._documents[row.event_key] = {"page": webhooks.page_status(), **event}
        return self._documents[row.event_key]


def _event_context(row: SubscriberNotification) -> dict[str, Any]:
    """What an email says: public rows only (never the internal incident)."""
    base = {"page_name": settings.STATUSPAGE_NAME, "page_url": links.page_url()}
    if row.public_update is not None:
        update = row.public_update
        incident = update.public_incident
        return {
            **base,
            "kind": "incident",
            "name": incident.name,
            "status": update.get_status_display(),
            "body": update.body,
            "at": _utc(update.created_at),
            "url": links.incident_url(incident.code),
        }
    maintenance = row.maintenance
    if maintenance is None:
        raise ValueError(f"notification {row.pk} names no event")
    # The event's own words when it left an update (scheduling, start, completion); the
    # maintenance's message otherwise (the reminder an hour before).
    latest = (
        maintenance.updates.filter(created_at__lte=row.created_at)
        .order_by("-created_at", "-id")
        .first()
    )
    said = latest.body if latest and row.maintenance_event != "reminder_60" else ""
    # The window as that update announced it: a later move has its own email.
    scheduled_for, scheduled_until = (
        latest.window if latest else (maintenance.scheduled_for, maintenance.scheduled_until)
    )
    return {
        **base,
        "kind": "maintenance",
        "name": maintenance.name,
        "status": MAINTENANCE_EVENTS[row.maintenance_event][1],
        "body": said or maintenance.message,
        "at": _utc(row.created_at),
        "scheduled_for": _utc(scheduled_for),
        "scheduled_until": _utc(scheduled_until),
        "url": links.maintenance_url(maintenance.code, maintenance.status),
    }


def _utc(moment: datetime) -> str:
    # Emails are read anywhere: times in UTC, said so.
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def email_message(row: SubscriberNotification, contents: EventContents) -> EmailMultiAlternatives:
    """The row's email, built by Django's mailer on its own (the path for what raw_message
    cannot fill in)."""
    subject, text, html = contents.email(row)
    unsubscribe = tokens.unsubscribe_url(row.subscriber.token)
    return _message(
        subject=subject,
        text=text.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe),
        html=html.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe),
        to=row.subscriber.address,
        message_id=message_id(row),
        unsubscribe=unsubscribe,
        event_key=row.event_key,
    )


def _message(
    *,
    subject: str,
    text: str,
    html: str,
    to: str,
    message_id: str,
    unsubscribe: str,
    event_key: str,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[to],
        headers={
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
            # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", and a POST of
            # List-Unsubscribe=One-Click to the URL unsubscribes without a page.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{settings.STATUSPAGE_NAME} status <{_list_id()}>",
            "X-Tocsin-Email": event_key,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# An event's email as bytes, with stand-ins for what differs between subscribers. Serialising
# a MIME message costs ~4 ms of CPU (the email package's header and body encoders); 10,000
# of them were most of a fan-out's time. Bodies are kept 7bit or 8bit (lines up to SMTP's
# 998-byte limit), so a subscriber's values replace the stand-ins in the bytes as they are.
_RECIPIENT = "recipient@tocsin.invalid"
_MESSAGE_ID = "<message-id@tocsin.invalid>"
_TEMPLATE_POLICY = email.policy.SMTP.clone(max_line_length=998)
_ENCODED_BODY = re.compile(rb"(?im)^content-transfer-encoding:\s*(quoted-printable|base64)")


def email_template(*, subject: str, text: str, html: str, event_key: str) -> bytes | None:
    """The event's email with stand-ins, or None when they could not survive serialising (a
    body encoded as quoted-printable or base64, a stand-in folded)."""
    message = _message(
        subject=subject,
        text=text,
        html=html,
        to=_RECIPIENT,
        message_id=_MESSAGE_ID,
        unsubscribe=UNSUBSCRIBE_PLACEHOLDER,
        event_key=event_key,
    )
    raw = message.message(policy=_TEMPLATE_POLICY).as_bytes()
    placeholders = text.count(UNSUBSCRIBE_PLACEHOLDER) + html.count(UNSUBSCRIBE_PLACEHOLDER) + 1
    if (
        _ENCODED_BODY.search(raw)
        or raw.count(UNSUBSCRIBE_PLACEHOLDER.encode()) != placeholders
        or raw.count(_RECIPIENT.encode()) != 1
        or raw.count(_MESSAGE_ID.encode()) != 1
    ):
        return None
    return raw


def raw_message(row: SubscriberNotification, contents: EventContents) -> bytes | None:
    """The row's email as bytes from its event's template, or None when it must be built on
    its own (no template; an address or link that is not plain ASCII)."""
    template = contents.template(row)
    address = row.subscriber.address
    unsubscribe = tokens.unsubscribe_url(row.subscriber.token)
    plain = address.isascii() and unsubscribe.isascii()
    if template is None or not plain or any(c in address + unsubscribe for c in "\r\n"):
        return None
    return (
        template.replace(_RECIPIENT.encode(), address.encode())
        .replace(_MESSAGE_ID.encode(), message_id(row).encode())
        .replace(UNSUBSCRIBE_PLACEHOLDER.encode(), unsubscribe.encode())
    )


def _domain() -> str:
    return urlsplit(settings.BASE_URL).hostname or "localhost"


def _list_id() -> str:
    return f"status.{_domain()}"


def message_id(row: SubscriberNotification) -> str:
    """The row's own Message-ID: a copy resent after a lost answer reads as the same message."""
    digest = hashlib.sha256(f"{row.pk}\0{row.created_at.isoformat()}".encode()).hexdigest()
    return f"<tocsin.statuspage.{row.pk}.{digest[:16]}@{_domain()}>"
