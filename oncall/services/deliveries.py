"""Delivering notifications: hand due ones to the workers, send each once, retry, rescue.

The tick claims due notifications (pending -> queued) and enqueues their delivery after
commit; a delivery claims its row (queued -> sending) with a conditional UPDATE before calling
the notifier. Rows stuck in queued or sending (a task lost with Redis, a worker killed) are
handed out again after a lease. Every attempt is a `DeliveryAttempt` row and, for pages, a
timeline entry.
"""

import logging
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.actors import SYSTEM
from incidents.models import EventKind, Source, Status
from incidents.timeline import incident_record_event
from oncall.models import (
    AttemptStatus,
    DeliveryAttempt,
    Notification,
    NotificationKind,
    NotificationState,
)
from oncall.notifiers import NotifierError, notifier_for
from oncall.services import contacts, handoff
from oncall.services.base import clock
from oncall.texts import page_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def delivery_lease() -> timedelta:
    # Longer than a notifier can take (its timeout, plus slack-sdk's retries), so a delivery
    # still talking to its provider is never handed to a second worker.
    return timedelta(seconds=settings.PAGING_DELIVERY_LEASE)


def requeue_after() -> timedelta:
    return timedelta(seconds=settings.PAGING_REQUEUE_AFTER)


Enqueue = Callable[[list[int]], None]


def notifications_dispatch_due(
    *,
    now: datetime | None = None,
    limit: int = 500,
    enqueue: Enqueue = handoff.deliver,
    incident_id: int | None = None,
) -> list[int]:
    """Hand due notifications to the workers: pending → queued, enqueued after commit.

    The tick hands out every due one; whoever just paged for an incident (a web request, a
    task) hands out that incident's only, and leaves the rest to the tick.
    """
    now = now or clock()
    due = Notification.objects.filter(state=NotificationState.PENDING, due_at__lte=now)
    if incident_id is not None:
        due = due.filter(incident_id=incident_id)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                state=NotificationState.QUEUED, queued_at=now
            )
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return ids


def notifications_rescue_stuck(
    *, now: datetime | None = None, enqueue: Enqueue = handoff.deliver
) -> list[int]:
    """Re-enqueue deliveries whose task was lost (Redis restarted) or whose worker died."""
    now = now or clock()
    lost = Q(state=NotificationState.QUEUED, queued_at__lt=now - requeue_after())
    dead = Q(state=NotificationState.SENDING, claimed_at__lt=now - delivery_lease())
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(lost | dead)
            .values_list("pk", flat=True)[:500]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                state=NotificationState.QUEUED, queued_at=now
            )
            logger.warning("re-enqueued %d stuck deliveries", len(ids))
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return ids


SKIPPED: Literal["skipped"] = "skipped"


@dataclass(frozen=True)
class DeliveryOutcome:
    status: AttemptStatus | Literal["skipped"]  # skipped: the row was not ours to send
    detail: str = ""


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Send one notification. Safe to run twice: only the run that claims the row sends."""
    now = now or clock()
    claimed = Notification.objects.filter(
        pk=notification_id,
        state__in=(NotificationState.QUEUED, NotificationState.PENDING),
        due_at__lte=now,
    ).update(state=NotificationState.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return DeliveryOutcome(SKIPPED)
    notification = Notification.objects.select_related(
        "incident__severity", "incident__team", "contact_method", "user"
    ).get(pk=notification_id)
    reason = _reason_not_to_send(notification)
    if reason:
        Notification.objects.filter(pk=notification.pk, state=NotificationState.SENDING).update(
            state=NotificationState.CANCELLED, last_error=reason
        )
        return DeliveryOutcome(SKIPPED, reason)
    started = timezone.now()
    clock_start = monotonic_time.monotonic()
    try:
        provider_id = notifier_for(notification.contact_method.kind).notify(page_for(notification))
    except NotifierError as error:
        duration_ms = int((monotonic_time.monotonic() - clock_start) * 1000)
        return _delivery_failed(notification, error, started=started, duration_ms=duration_ms)
    except Exception as error:
        # A bug or a provider answer we could not read: count it as a failed attempt, so
        # MAX_ATTEMPTS still bounds it, rather than leaving the row to be rescued forever.
        logger.exception("delivering notification %s failed", notification.pk)
        duration_ms = int((monotonic_time.monotonic() - clock_start) * 1000)
        unexpected = NotifierError(f"Unexpected error: {error!r}"[:500], permanent=False)
        return _delivery_failed(notification, unexpected, started=started, duration_ms=duration_ms)
    duration_ms = int((monotonic_time.monotonic() - clock_start) * 1000)
    with transaction.atomic():
        # Only while the row is still ours: had this call outlived its lease, the row was
        # handed to another worker, whose outcome stands.
        ours = _claimed(notification).update(
            state=NotificationState.SENT,
            sent_at=timezone.now(),
            provider_id=provider_id[:200],
            last_error="",
        )
        if notification.kind == NotificationKind.VERIFICATION:
            # Sent: the code need not lie around in the database (its hash is kept).
            Notification.objects.filter(pk=notification.pk).update(body="")
        _record_attempt(
            notification,
            status=AttemptStatus.SENT,
            started=started,
            duration_ms=duration_ms,
            provider_id=provider_id,
        )
    if not ours:
        logger.warning("notification %s was sent after its lease ran out", notification.pk)
    return DeliveryOutcome(AttemptStatus.SENT, provider_id)


def _claimed(notification: Notification) -> QuerySet[Notification]:
    """The notification's row, as long as this delivery's claim on it still holds."""
    return Notification.objects.filter(
        pk=notification.pk, state=NotificationState.SENDING, claimed_at=notification.claimed_at
    )


def _reason_not_to_send(notification: Notification) -> str:
    incident = notification.incident
    if notification.kind == NotificationKind.PAGE and incident is not None:
        if incident.status == Status.RESOLVED:
            return "the incident was resolved before this page went out"
        if incident.acknowledged_at is not None and notification.escalation_id is not None:
            return "the incident was acknowledged before this page went out"
    method = notification.contact_method
    if method.disabled_at is not None:
        return f"the contact method was disabled: {method.disabled_reason}"
    if method.verified_at is None and notification.kind != NotificationKind.VERIFICATION:
        return "the contact method is not verified"
    return ""


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential backoff (10 s, 20 s, 40 s …, at most 5 min), or the provider's wish."""
    backoff = min(10 * 2 ** max(attempts - 1, 0), 300)
    if retry_after is not None:
        backoff = max(backoff, min(int(retry_after), 300))
    return timedelta(seconds=backoff)


def _delivery_failed(
    notification: Notification, error: NotifierError, *, started: datetime, duration_ms: int
) -> DeliveryOutcome:
    now = timezone.now()
    # A bad address fails for good; anything else (our own provider settings included, which
    # an admin may fix any minute) is retried with backoff up to MAX_ATTEMPTS.
    give_up = error.address_is_bad or notification.attempts >= MAX_ATTEMPTS
    status = AttemptStatus.PERMANENT if give_up else AttemptStatus.TRANSIENT
    if error.misconfigured:
        logger.error("paging provider misconfigured: %s", error)
    with transaction.atomic():
        if give_up:
            _claimed(notification).update(state=NotificationState.FAILED, last_error=str(error))
        else:
            _claimed(notification).update(
                state=NotificationState.PENDING,
                due_at=now + retry_delay(notification.attempts, error.retry_after),
                last_error=str(error),
            )
        _record_attempt(
            notification, status=status, started=started, duration_ms=duration_ms, error=error
        )
        if error.address_is_bad:
            contacts.contact_method_disable(
                method=notification.contact_method, reason=str(error), now=now
            )
    return DeliveryOutcome(status, str(error))


def _record_attempt(
    notification: Notification,
    *,
    status: AttemptStatus,
    started: datetime,
    duration_ms: int,
    provider_id: str = "",
    error: NotifierError | None = None,
) -> None:
    DeliveryAttempt.objects.create(
        notification=notification,
        started_at=started,
        duration_ms=duration_ms,
        status=status,
        provider_id=provider_id[:200],
        error=str(error) if error else "",
    )
    if notification.incident is None:
        return
    method = notification.contact_method
    who = f"{notification.user.display_name} by {method.get_kind_display()}"
    if status == AttemptStatus.SENT:
        message = f"Page to {who} sent"
    elif status == AttemptStatus.TRANSIENT:
        message = f"Page to {who} failed, will retry: {error}"
    else:
        message = f"Page to {who} failed: {error}"
    incident_record_event(
        incident=notification.incident,
        kind=EventKind.PAGE,
        actor=SYSTEM,
        source=Source.SYSTEM,
        message=message,
        data={
            "notification": notification.pk,
            "attempt": notification.attempts,
            "status": status,
            "method": method.kind,
            "provider_id": provider_id,
            "duration_ms": duration_ms,
        },
        at=started,
    )
