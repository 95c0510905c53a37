"""The email outbox: OutgoingEmail rows, added in the caller's transaction and sent by workers
once each (DESIGN.md, "Durability")."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from postmortems.models import OutgoingEmail


def email_queue(
    *,
    key: str,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    ics: str = "",
    ics_method: str = "",
    now: datetime | None = None,
) -> OutgoingEmail | None:
    """Add an email to the outbox, unless one with `key` is already there (then None).

    Called inside the caller's transaction: the row commits with the change it reports, and
    the tick (emails_dispatch_due) hands it to a worker.
    """
    now = now or timezone.now()
    email, created = OutgoingEmail.objects.get_or_create(
        key=key[:200],
        defaults={
            "to": to,
            "subject": " ".join(subject.split())[:300],
            "text": text,
            "html": html,
            "ics": ics,
            "ics_method": ics_method,
            "due_at": now,
            "created_at": now,
        },
    )
    return email if created else None


def emails_dispatch_due(*, now: datetime | None = None) -> list[int]:
    """Hand the due rows to workers; the ids handed out. (Filled in by the meeting work.)"""
    return []
