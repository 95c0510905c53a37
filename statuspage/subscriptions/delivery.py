"""The subscribers' outbox: SubscriberNotification rows, handed out by a tick and sent by
workers, each once (DESIGN.md, "Durability"; the lease, claim and retry are ops.outbox's).

A row is `pending` until the tick (deliver_due) hands it out in a batch (stamping
`claimed_at`, so the next tick leaves it alone), `sending` while a worker holds it, then `sent`,
or `failed` when it gave up. What can go wrong, and what brings a row back:

- the task is lost with Redis: the row is still `pending`, handed out long ago
  (STATUSPAGE_DELIVERY_REQUEUE_AFTER); the tick hands it out again;
- the worker is killed mid-batch: its rows stay `sending`; once their lease
  (STATUSPAGE_DELIVERY_LEASE) runs out the tick hands them out again. Sent rows are marked as
  the batch goes, so only the last few sent may go twice, each with its own Message-ID;
- the SMTP server or the webhook fails: the row goes back to `pending`, due later (backoff),
  until STATUSPAGE_DELIVERY_MAX_ATTEMPTS, then `failed` with the last error. A webhook that
  fails STATUSPAGE_WEBHOOK_DISABLE_AFTER times in a row is disabled;
- a batch to a slow relay nears the end of its lease: it stops at half the lease and hands
  the rows it has not sent back, so no rescuer sends them while it still does.

What the public may no longer see is not sent: a row whose incident was withdrawn (made
private), whose maintenance was cancelled (but for the cancellation notice itself) or whose
component's service was made private is settled `failed`, saying why, when a worker takes it.

A subscriber hears of one incident's (or maintenance's, or component's) events in order: a row
is not handed out while an earlier one of the same incident for the same subscriber is still
waiting or being sent (a webhook backing off for an hour holds the later updates back rather
than let the receiver end on the older status).

Emails go out in batches over one SMTP connection: a connection per message costs a TCP and
SMTP handshake each, which 10,000 subscribers cannot afford. Two workers given the same rows
claim them with one conditional UPDATE under SKIP LOCKED, so each row is sent by one of them.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from ops import outbox
from statuspage.models import (
    DeliveryState,
    MaintenanceStatus,
    Subscriber,
    SubscriberKind,
    SubscriberNotification,
    WebhookAttempt,
)
from statuspage.subscriptions import tokens, webhooks
from statuspage.subscriptions.messages import EventContents, email_message, raw_message

logger = logging.getLogger(__name__)

Enqueue = Callable[[list[list[int]]], None]

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# A batch marks what it sent this often, so a worker killed mid-batch resends little.
MARK_SENT_EVERY = 50


def lease() -> timedelta:
    """A batch that held its rows this long died with its worker."""
    return timedelta(seconds=settings.STATUSPAGE_DELIVERY_LEASE)


def requeue_after() -> timedelta:
    return timedelta(seconds=settings.STATUSPAGE_DELIVERY_REQUEUE_AFTER)


def _behind_an_earlier() -> Exists:
    """The row waits for an earlier event of the same incident, maintenance or component to
    reach the same subscriber (sent, or given up): receivers must end on the latest status.
    Updates are ordered by when they were published, maintenance events by when they
    happened, component changes by when their span began."""
    same_incident = Q(public_update__public_incident=OuterRef("public_update__public_incident"))
    earlier_update = Q(public_update__created_at__lt=OuterRef("public_update__created_at")) | Q(
        public_update__created_at=OuterRef("public_update__created_at"),
        public_update__lt=OuterRef("public_update"),
    )
    same_component = Q(component_change__component=OuterRef("component_change__component"))
    earlier_change = Q(
        component_change__started_at__lt=OuterRef("component_change__started_at")
    ) | Q(
        component_change__started_at=OuterRef("component_change__started_at"),
        component_change__lt=OuterRef("component_change"),
    )
    earlier_event = Q(created_at__lt=OuterRef("created_at")) | Q(
        created_at=OuterRef("created_at"), pk__lt=OuterRef("pk")
    )
    # "Not settled" rather than "pending or sending": the same rows, but a condition the
    # due-rows partial index does not match, so the planner looks the subscriber's few rows up
    # by subscriber rather than AND-ing in the whole outbox (seconds, with 10,000 rows queued
    # and their statistics not yet gathered).
    unsettled = ~Q(state__in=(DeliveryState.SENT, DeliveryState.FAILED))
    return Exists(
        SubscriberNotification.objects.filter(unsettled, subscriber=OuterRef("subscriber")).filter(
            (same_incident & earlier_update)
            | (Q(maintenance=OuterRef("maintenance")) & earlier_event)
            | (same_component & earlier_change)
        )
    )


def _enqueue(batches: list[list[int]]) -> None:
    # Lazily: the tasks import this module.
    from statuspage.subscriptions import tasks

    for ids in batches:
        tasks.deliver_batch.delay(ids)


def deliver_due(
    now: datetime | None = None, *, limit: int = 20_000, enqueue: Enqueue = _enqueue
) -> list[int]:
    """Hand the due rows, and those a dead worker or a lost task left behind, to workers in
    batches (emails STATUSPAGE_EMAIL_BATCH at a time, webhooks one each: a webhook may take
    its whole timeout). The ids handed out. Two ticks at once hand out each row once."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = outbox.hand_out(
            SubscriberNotification.objects.exclude(_behind_an_earlier()).order_by("due_at", "id"),
            "subscriber__kind",
            now=now,
            lease=lease(),
            requeue_after=requeue_after(),
            limit=limit,
        )
        if not rows:
            return []
        emails = [pk for pk, kind in rows if kind == SubscriberKind.EMAIL]
        size = max(settings.STATUSPAGE_EMAIL_BATCH, 1)
        batches = [emails[i : i + size] for i in range(0, len(emails), size)]
        batches += [[pk] for pk, kind in rows if kind == SubscriberKind.WEBHOOK]
        transaction.on_commit(lambda: enqueue(batches), robust=True)
    return [pk for pk, _kind in rows]


@dataclass
class Outcome:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    # Not sent: the incident was withdrawn or the maintenance cancelled since it was queued.
    withheld: int = 0
    # Not sent by this batch: its lease was running out; the next tick hands them out again.
    handed_back: int = 0


def deliver_batch(ids: Iterable[int], *, now: datetime | None = None) -> Outcome:
    """Send the rows of `ids` that are still to be sent. Safe to run twice, or beside
    another worker given the same ids: only the run whose claim takes a row sends it."""
    now = now or timezone.now()
    # The lease is counted on this process's clock from the claim: a batch stops taking new
    # messages at half of it, so the one on its way ends well before a rescuer may step in.
    deadline = time.monotonic() + lease().total_seconds() / 2
    ids = list(ids)
    outcome = Outcome()
    with transaction.atomic():
        claimed = list(
            SubscriberNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(outbox.due(now, lease=lease()), pk__in=ids)
            .exclude(_behind_an_earlier())
            .values_list("pk", flat=True)
        )
        outbox.claim(SubscriberNotification.objects.filter(pk__in=claimed), now=now)
        # Rows that became due behind an earlier one after the tick handed them out (it
        # failed and backs off): free for a later tick, which holds them until it is done.
        SubscriberNotification.objects.filter(
            pk__in=set(ids) - set(claimed), state=DeliveryState.PENDING, due_at__lte=now
        ).filter(_behind_an_earlier()).update(claimed_at=None)
    outcome.skipped = len(ids) - len(claimed)
    rows = list(
        SubscriberNotification.objects.filter(pk__in=claimed)
        .select_related(
            "subscriber",
            "public_update__public_incident",
            "maintenance",
            "component_change__component__service",
        )
        .order_by("id")
    )
    emails, hooks = [], []
    for row in rows:
        withheld = _withheld(row)
        if withheld:
            outbox.give_up(_claimed(row), error=withheld)
            outcome.withheld += 1
        elif not row.subscriber.is_active:
            outbox.give_up(_claimed(row), error="The subscriber is no longer active.")
            outcome.failed += 1
        elif row.attempts > settings.STATUSPAGE_DELIVERY_MAX_ATTEMPTS:
            # Every worker that took it so far died on it: not tried for ever.
            outbox.give_up(_claimed(row), error=row.last_error or "No attempt finished.")
            outcome.failed += 1
        elif row.subscriber.kind == SubscriberKind.EMAIL:
            emails.append(row)
        else:
            hooks.append(row)
    contents = EventContents(now)
    if emails:
        _send_emails(emails, contents, outcome, now=now, deadline=deadline)
    for row in hooks:
        _send_webhook(row, contents, outcome, now=now)
    return outcome


def _withheld(row: SubscriberNotification) -> str:
    """Why the row's event may no longer be told, read as it is about to be sent; "" when it
    may. Publishing leaves queued rows alone when it withdraws an incident or cancels a
    maintenance, so this is where they stop."""
    if row.public_update is not None and row.public_update.public_incident.withdrawn:
        return "Not sent: the incident was withdrawn from the public page."
    if (
        row.maintenance is not None
        and row.maintenance.status == MaintenanceStatus.CANCELLED
        and row.maintenance_event != "cancelled"
    ):
        return "Not sent: the maintenance was cancelled."
    if row.component_change is not None and not row.component_change.component.service.public:
        return "Not sent: the component was taken off the public page."
    return ""


# Errors about one message; the connection is still good for the next.
_MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    ValueError,
)


def _send_emails(
    rows: list[SubscriberNotification],
    contents: EventContents,
    outcome: Outcome,
    *,
    now: datetime,
    deadline: float,
) -> None:
    """Send `rows` over one SMTP connection, marking them as it goes, until `deadline` (on
    time.monotonic()); the rows not sent by then are handed back."""
    sent: list[int] = []
    mailer = mailers["default"]
    # Bytes from the template go straight onto an SMTP connection; any other mailer (the
    # console in development) is given messages.
    smtp = mailer if isinstance(mailer, SmtpBackend) else None
    sender = smtp.prep_address(settings.DEFAULT_FROM_EMAIL) if smtp else ""
    try:
        mailer.open()
    except (smtplib.SMTPException, OSError) as error:
        for row in rows:
            _failed(row, error, outcome, now=now)
        return
    try:
        for index, row in enumerate(rows):
            # At least one message a batch, so a slow connection still makes progress.
            if index and time.monotonic() >= deadline:
                outcome.handed_back += _hand_back(rows[index:], claim=now)
                break
            try:
                raw = raw_message(row, contents) if smtp else None
                if smtp is None or raw is None or smtp.connection is None:
                    mailer.send_messages([email_message(row, contents)])
                else:
                    smtp.connection.sendmail(sender, [row.subscriber.address], raw)
            except _MESSAGE_ERRORS as error:
                _failed(row, error, outcome, now=now)
            except (smtplib.SMTPException, OSError) as error:
                # The connection is gone: this row and those after it wait for a retry.
                for left in rows[index:]:
                    _failed(left, error, outcome, now=now)
                break
            else:
                sent.append(row.pk)
                if len(sent) >= MARK_SENT_EVERY:
                    outcome.sent += _mark_sent(sent, claim=now)
                    sent = []
    finally:
        with suppress(smtplib.SMTPException, OSError):
            mailer.close()
        outcome.sent += _mark_sent(sent, claim=now)


def _hand_back(rows: list[SubscriberNotification], *, claim: datetime) -> int:
    """Give up the claim on `rows`, unsent: due again at once, and this was no attempt."""
    ours = SubscriberNotification.objects.filter(pk__in=[row.pk for row in rows])
    handed = outbox.held(ours, claimed_at=claim).update(
        state=DeliveryState.PENDING, claimed_at=None, attempts=F("attempts") - 1
    )
    logger.warning("a slow batch handed %d notifications back before its lease ran out", handed)
    return handed


def _mark_sent(ids: list[int], *, claim: datetime) -> int:
    if not ids:
        return 0
    sent = outbox.held(SubscriberNotification.objects.filter(pk__in=ids), claimed_at=claim)
    marked = outbox.mark_sent(sent)
    if marked < len(ids):
        logger.warning("%d notifications were sent after their lease ran out", len(ids) - marked)
    return len(ids)


def _send_webhook(
    row: SubscriberNotification, contents: EventContents, outcome: Outcome, *, now: datetime
) -> None:
    subscriber = row.subscriber
    body = webhooks.payload_body(
        contents.document(row),
        unsubscribe_url=tokens.unsubscribe_url(subscriber.token),
        now=now,
    )
    started = timezone.now()
    result = webhooks.webhook_post(
        url=subscriber.address, secret=subscriber.secret, body=body, delivery_id=str(row.pk)
    )
    with transaction.atomic():
        WebhookAttempt.objects.create(
            notification=row,
            started_at=started,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            succeeded=result.succeeded,
            error=result.error[:1000],
        )
        locked = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if result.succeeded:
            if locked.consecutive_failures:
                locked.consecutive_failures = 0
                locked.save(update_fields=["consecutive_failures"])
            outbox.mark_sent(_claimed(row))
            outcome.sent += 1
            return
        locked.consecutive_failures += 1
        fields = ["consecutive_failures"]
        if (
            locked.disabled_at is None
            and locked.consecutive_failures >= settings.STATUSPAGE_WEBHOOK_DISABLE_AFTER
        ):
            locked.disabled_at = now
            fields.append("disabled_at")
            logger.warning(
                "webhook subscriber %s disabled after %d failures in a row: %s",
                locked.pk,
                locked.consecutive_failures,
                result.error,
            )
        locked.save(update_fields=fields)
        if locked.disabled_at is not None:
            error = f"Webhook disabled after {locked.consecutive_failures} failures: "
            outbox.give_up(_claimed(row), error=error + result.error)
            SubscriberNotification.objects.filter(
                subscriber=locked, state=DeliveryState.PENDING
            ).update(state=DeliveryState.FAILED, last_error=error + "not sent.")
            outcome.failed += 1
            return
        _retry_or_fail(row, result.error, outcome, now=now, permanent=False)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … at most LONGEST_RETRY, after the `attempts`th attempt."""
    return outbox.backoff(attempts, first=FIRST_RETRY, longest=LONGEST_RETRY)


def _failed(
    row: SubscriberNotification, error: Exception, outcome: Outcome, *, now: datetime
) -> None:
    permanent = outbox.smtp_permanent(error)
    # What is logged names the row and the SMTP code, never the text: a refusal's text holds
    # the subscriber's address (and the server's reply may quote it). The row keeps the text.
    logged = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (0, b""))
        text = f"{logged}: {code} {outbox.reply_text(reply)}"
        logged = f"{logged} {code}"
    else:
        text = f"{logged}: {error}"
        if isinstance(error, smtplib.SMTPResponseException):
            logged = f"{logged} {error.smtp_code}"
    _retry_or_fail(row, text[:1000], outcome, now=now, permanent=permanent, logged=logged)


def _retry_or_fail(
    row: SubscriberNotification,
    error: str,
    outcome: Outcome,
    *,
    now: datetime,
    permanent: bool,
    logged: str | None = None,
) -> None:
    """`error` is kept on the row; `logged` (what the log may say of it) defaults to it."""
    result = outbox.retry_or_give_up(
        _claimed(row),
        attempts=row.attempts,
        max_attempts=settings.STATUSPAGE_DELIVERY_MAX_ATTEMPTS,
        error=error,
        permanent=permanent,
        retry_at=now + retry_delay(row.attempts),
    )
    if result == "retry":
        outcome.retry += 1
        return
    logger.warning(
        "notification %s (%s) failed: %s",
        row.pk,
        row.event_key,
        error if logged is None else logged,
    )
    outcome.failed += 1


def _claimed(row: SubscriberNotification) -> QuerySet[SubscriberNotification]:
    """The row, as long as this batch's claim on it holds (no rescuer took it over)."""
    return outbox.held(SubscriberNotification.objects.filter(pk=row.pk), claimed_at=row.claimed_at)
