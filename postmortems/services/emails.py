"""The email outbox: OutgoingEmail rows, added in the caller's transaction and sent by workers
once each (DESIGN.md, "Durability"; the lease, claim and retry are ops.outbox's).

A row's life: `pending` until the tick hands it to a worker (which stamps `claimed_at`, so the
next tick leaves it alone), `sending` while a worker holds it, then `sent`, or `failed` when it
gave up. What can go wrong, and what brings the row back:

- the task is lost with Redis: the row is still `pending`, handed out long ago
  (POSTMORTEM_EMAIL_REQUEUE_AFTER); the tick hands it out again;
- the worker is killed mid-send (acks_late: the broker may or may not redeliver): the row stays
  `sending`; once its lease (POSTMORTEM_EMAIL_LEASE) runs out the tick hands it out again;
- the SMTP server refuses or is unreachable: the row goes back to `pending`, due later (backoff),
  until MAX_ATTEMPTS, then `failed` with the last error.

Sending is at least once, never twice in our books: a row already `sent` is never claimed again,
and two workers holding the same row's task claim it with one conditional UPDATE, so one sends.
A worker killed after the server took the message but before the row says so leaves it to be
sent again; the Message-ID is the row's own, so a mail client shows the copy once.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage, MIMEPart
from email.policy import Policy
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ops import outbox
from postmortems.models import OutgoingEmail

logger = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]


# Attempts before a row gives up; with the backoff below, about an hour of trying.
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=2)
LONGEST_RETRY = timedelta(minutes=30)


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
            "subject": _one_line(subject),
            "text": text,
            "html": html,
            "ics": ics,
            "ics_method": ics_method,
            "due_at": now,
            "created_at": now,
        },
    )
    return email if created else None


@dataclass(frozen=True)
class Email:
    """One email for `email_queue_many`; the fields mean what email_queue's arguments do."""

    key: str
    to: str
    subject: str
    text: str
    html: str = ""
    ics: str = ""
    ics_method: str = ""


def email_queue_many(emails: Iterable[Email], *, now: datetime | None = None) -> int:
    """email_queue for a batch, in one INSERT however many (an invitation to every
    responder); keys already in the outbox are skipped. How many the batch held."""
    now = now or timezone.now()
    rows = [
        OutgoingEmail(
            key=email.key[:200],
            to=email.to,
            subject=_one_line(email.subject),
            text=email.text,
            html=email.html,
            ics=email.ics,
            ics_method=email.ics_method,
            due_at=now,
            created_at=now,
        )
        for email in emails
    ]
    OutgoingEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _one_line(subject: str) -> str:
    # A line break in a header is an injection attempt or a template slip.
    return " ".join(subject.split())[:300]


def _enqueue(ids: list[int]) -> None:
    # Lazily: tasks import the services, and the services only hand work to them.
    from postmortems import tasks

    for email_id in ids:
        tasks.send_email.delay(email_id)


def lease() -> timedelta:
    """A send that held its row this long died with its worker: the row is handed out again.
    Longer than any send takes (the mailer's timeout is 10 s per SMTP step)."""
    return timedelta(seconds=settings.POSTMORTEM_EMAIL_LEASE)


def requeue_after() -> timedelta:
    """A row handed out this long ago and still not claimed lost its task (Redis restarted)."""
    return timedelta(seconds=settings.POSTMORTEM_EMAIL_REQUEUE_AFTER)


def emails_dispatch_due(
    *, now: datetime | None = None, limit: int = 500, enqueue: Enqueue = _enqueue
) -> list[int]:
    """Hand the due rows, and those a dead worker or a lost task left behind, to workers;
    the ids handed out. Two ticks at once hand out each row once (skip_locked)."""
    now = now or timezone.now()
    with transaction.atomic():
        handed = outbox.hand_out(
            OutgoingEmail.objects.order_by("due_at"),
            now=now,
            lease=lease(),
            requeue_after=requeue_after(),
            limit=limit,
        )
        ids = [pk for (pk,) in handed]
        if ids:
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return ids


def email_send(*, email_id: int, now: datetime | None = None) -> str:
    """Send one row, if it is still to be sent. Safe to run twice, or on a row another
    worker holds: only the run whose conditional UPDATE claims the row sends it.

    Returns what became of it: "sent", "retry", "failed" or "skipped".
    """
    now = now or timezone.now()
    due = OutgoingEmail.objects.filter(outbox.due(now, lease=lease()), pk=email_id)
    if not outbox.claim(due, now=now):
        return "skipped"
    row = OutgoingEmail.objects.get(pk=email_id)
    if row.attempts > MAX_ATTEMPTS:
        # Every worker that took it so far died on it (its send never came back to say): a
        # message that kills workers is not tried for ever.
        outbox.give_up(_claimed(row), error=row.last_error or "no attempt finished")
        return "failed"
    error = outbox.deliver(_claimed(row), lambda: _deliver(row), what=f"email {row.pk} ({row.key})")
    if error is not None:
        return _failed(row, error, now=now)
    return "sent"


class _OutgoingMessage(EmailMultiAlternatives):
    """EmailMultiAlternatives whose text/calendar alternative names its iTIP method, which is
    what makes mail clients show an invitation's Accept/Decline buttons (RFC 6047)."""

    ics_method = ""

    def message(self, *, policy: Policy | None = email.policy.default) -> EmailMessage:
        message = super().message(policy=policy)
        if self.ics_method:
            for part in message.walk():
                if part.get_content_type() == "text/calendar" and not part.is_attachment():
                    part.set_param("method", self.ics_method)
        return message


def _deliver(row: OutgoingEmail) -> None:
    message = _OutgoingMessage(
        subject=row.subject,
        body=row.text,
        to=[row.to],
        headers={
            "Message-ID": message_id(row),
            # RFC 3834: keeps vacation responders from answering.
            "Auto-Submitted": "auto-generated",
            "X-Tocsin-Email": row.key,
        },
    )
    message.ics_method = row.ics_method
    if row.html:
        message.attach_alternative(row.html, "text/html")
    if row.ics:
        message.attach_alternative(row.ics, "text/calendar")
        # The same calendar as a file, for clients that offer only attachments; as
        # application/ics (Google Calendar's choice) so a client that reads the alternative
        # does not process the invitation twice.
        attachment = MIMEPart()
        attachment.set_content(
            row.ics.encode(),
            maintype="application",
            subtype="ics",
            disposition="attachment",
            filename="invite.ics",
        )
        message.attach(attachment)
    message.send(using="default")


def message_id(row: OutgoingEmail) -> str:
    """The row's own Message-ID: the same on every attempt, so a copy a retry sends after a
    lost answer is the same message to the recipient's client."""
    digest = hashlib.sha256(f"{row.key}\0{row.created_at.isoformat()}".encode()).hexdigest()
    domain = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"<tocsin.postmortems.{row.pk}.{digest[:16]}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """2 min, 4 min, 8 min … at most LONGEST_RETRY, after the `attempts`th attempt."""
    return outbox.backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


def _failed(row: OutgoingEmail, error: Exception, *, now: datetime) -> str:
    text = outbox.smtp_error_text(error)
    outcome = outbox.retry_or_give_up(
        _claimed(row),
        attempts=row.attempts,
        max_attempts=MAX_ATTEMPTS,
        error=text,
        permanent=outbox.smtp_permanent(error),
        retry_at=now + retry_delay(row.attempts),
    )
    if outcome == "failed":
        logger.warning("email %s (%s) to %s failed: %s", row.pk, row.key, row.to, text)
    return outcome


def _claimed(row: OutgoingEmail) -> QuerySet[OutgoingEmail]:
    """The row, as long as this send's claim on it holds (no rescuer took it over)."""
    return outbox.held(OutgoingEmail.objects.filter(pk=row.pk), claimed_at=row.claimed_at)
