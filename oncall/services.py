"""The paging engine and on-call writes.

How a page travels (DESIGN.md rules 3 and 4): declaring an incident whose severity pages
creates an `Escalation` row due now. A tick (Celery beat, every second; also run at once when
an escalation starts) claims due escalations with `select_for_update(skip_locked=True)` and
inserts one `Notification` per person and notification-rule step under a unique key, then
moves the escalation to its next level. The tick also claims due notifications (pending →
queued) and enqueues their delivery after commit; a delivery claims its row (queued → sending)
with a conditional UPDATE before calling the notifier. Rows stuck in queued or sending (a task
lost with Redis, a worker killed) are handed out again after a lease. Every attempt is a
`DeliveryAttempt` row and a timeline entry.
"""

import hashlib
import hmac
import logging
import re
import secrets
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import F, ProtectedError, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from alerts.models import Integration
from incidents import services as incident_services
from incidents.models import EventKind, Incident, Paging, Source, Status, Team
from incidents.permissions import Action, require
from oncall import selectors
from oncall.messages import override_notice, page_for
from oncall.models import (
    AttemptStatus,
    CalendarFeed,
    ContactKind,
    ContactMethod,
    DeliveryAttempt,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationState,
    EscalationTarget,
    LayerParticipant,
    Notification,
    NotificationKind,
    NotificationRule,
    NotificationState,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ShiftLength,
    TargetKind,
)
from oncall.notifiers import NotifierError, notifier_for
from oncall.notifiers.webhook import destination_refused
from oncall.schedules import shifts
from oncall.selectors import PAGING_SEVERITIES
from ops.text import shown
from ops.timestamps import plan_time_error, zone_named

logger = logging.getLogger(__name__)

# Incidents declared longer ago than this are history being entered (imports, demo data),
# not something to wake people for.
START_WINDOW = timedelta(hours=1)
# An incident still without its escalation this long after being declared lost its
# start_escalation task (Redis restarted, a worker killed); the tick starts it.
MISSED_START_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 5
VERIFICATION_TTL = timedelta(minutes=10)
VERIFICATION_MAX_TRIES = 5


def clock() -> datetime:
    """The engine's one clock; tests pass `now` explicitly instead of sleeping."""
    return timezone.now()


def delivery_lease() -> timedelta:
    # Longer than a notifier can take (its timeout, plus slack-sdk's retries), so a delivery
    # still talking to its provider is never handed to a second worker.
    return timedelta(seconds=settings.PAGING_DELIVERY_LEASE)


def requeue_after() -> timedelta:
    return timedelta(seconds=settings.PAGING_REQUEUE_AFTER)


Enqueue = Callable[[list[int]], None]


# Every publish after commit is `robust`: the rows are committed and the tick and the rescue
# sweep hand them out once the broker is back, so a broker outage must not turn a committed
# page into a 500 (or stop the next on_commit callback).
def _enqueue_deliveries(notification_ids: list[int]) -> None:
    from oncall.tasks import deliver_notification

    for pk in notification_ids:
        deliver_notification.delay(pk)


def _enqueue_escalation(escalation_id: int) -> None:
    from oncall.tasks import fire_escalation

    fire_escalation.delay(escalation_id)


def escalation_start(
    *,
    incident: Incident,
    policy: EscalationPolicy | None = None,
    now: datetime | None = None,
    manual: bool = False,
    fire_now: bool = True,
    just_declared: bool = True,
) -> Escalation | None:
    """Start paging for an incident, once. Returns None when there is nothing to page.

    Without `manual`, only unacknowledged incidents whose severity pages are paged, and, when
    `just_declared`, only those declared within START_WINDOW (a severity raised later pages
    whenever it happens). Safe to call twice: the incident has one escalation.
    With `fire_now`, the first level is paged by a task queued on commit; a caller that
    pages it itself passes False.
    """
    now = now or clock()
    with transaction.atomic():
        incident = incident_services.incident_lock(incident)
        if incident.acknowledged_at is not None or incident.status == Status.RESOLVED:
            return None
        if not manual and (
            incident.severity.paging not in PAGING_SEVERITIES
            or (just_declared and incident.declared_at < now - START_WINDOW)
        ):
            return None
        existing = Escalation.objects.filter(incident=incident).select_related("policy").first()
        if existing is not None:
            if existing.policy is None:
                return None
            if (
                existing.state == EscalationState.ACTIVE
                and incident.severity.paging == Paging.ONCALL_AND_MANAGEMENT
                and not existing.page_management
            ):
                _page_management_now(incident, existing, policy=existing.policy, now=now)
            return existing
        policy = policy or selectors.policy_for_incident(incident)
        if policy is None:
            incident_services.incident_record_event(
                incident=incident,
                kind=EventKind.PAGE,
                source=Source.SYSTEM,
                message="Nobody was paged: no escalation policy applies to this incident.",
                at=now,
            )
            # Kept as a stopped escalation, so the tick's sweep does not try (and write this
            # entry) again every second.
            Escalation.objects.create(
                incident=incident,
                policy=None,
                state=EscalationState.STOPPED,
                created_at=now,
                stopped_at=now,
                stopped_reason="no escalation policy applies",
            )
            return None
        escalation = Escalation.objects.create(
            incident=incident,
            policy=policy,
            next_at=now,
            created_at=now,
            page_management=incident.severity.paging == Paging.ONCALL_AND_MANAGEMENT,
        )
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            source=Source.SYSTEM,
            message=f"Escalation policy {policy.name} started",
            data={"policy": policy.pk},
            at=now,
        )
        if fire_now:
            transaction.on_commit(lambda: _enqueue_escalation(escalation.pk), robust=True)
    return escalation


def _page_management_now(
    incident: Incident, escalation: Escalation, *, policy: EscalationPolicy, now: datetime
) -> None:
    """Raised to a severity that pages management while paging runs: page the policy's
    management levels at once, as declaring at that severity would have. Caller holds the
    incident's row lock."""
    escalation.page_management = True
    escalation.save(update_fields=["page_management"])
    users: list[User] = []
    for level in selectors.policy_levels(policy):
        if level.management:
            users += [u for u in selectors.level_users(level, at=now) if u not in users]
    if users:
        _page(
            incident,
            users,
            key_prefix=f"esc:{escalation.pk}:{escalation.run}:management",
            escalation=escalation,
            label="management, severity raised",
            now=now,
        )
        transaction.on_commit(
            lambda: notifications_dispatch_due(now=now, incident_id=incident.pk), robust=True
        )


def policy_name(escalation: Escalation) -> str:
    return escalation.policy.name if escalation.policy is not None else "no policy"


def escalation_start_and_fire(*, incident_id: int, just_declared: bool = True) -> bool:
    """Start paging for an incident and page its first level at once (the start_escalation
    task). False when the incident is gone or nothing pages."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return False
    escalation = escalation_start(incident=incident, fire_now=False, just_declared=just_declared)
    if escalation is None:
        return False
    return escalation_advance(escalation_id=escalation.pk)


def escalation_stop(*, incident_id: int, reason: str, now: datetime | None = None) -> bool:
    """Stop paging an incident and cancel its pages not yet handed to a notifier."""
    now = now or clock()
    with transaction.atomic():
        stopped = Escalation.objects.filter(
            incident_id=incident_id, state=EscalationState.ACTIVE
        ).update(state=EscalationState.STOPPED, stopped_at=now, stopped_reason=reason, next_at=None)
        # The policy's pages only: someone paged by hand was asked for on purpose, often
        # after the acknowledgement ("bring in the database expert").
        Notification.objects.filter(
            incident_id=incident_id,
            escalation__isnull=False,
            kind=NotificationKind.PAGE,
            state__in=(NotificationState.PENDING, NotificationState.QUEUED),
        ).update(state=NotificationState.CANCELLED, last_error=reason)
    return stopped > 0


def escalations_advance_due(*, now: datetime | None = None, limit: int = 200) -> int:
    now = now or clock()
    due = list(
        Escalation.objects.filter(state=EscalationState.ACTIVE, next_at__lte=now)
        .order_by("next_at")
        .values_list("pk", flat=True)[:limit]
    )
    fired = 0
    on_call: dict[int, int | None] = {}  # who each schedule has on call `now`, read once
    for pk in due:
        try:
            fired += escalation_advance(escalation_id=pk, now=now, dispatch=False, on_call=on_call)
        except Exception:
            # One broken escalation (a schedule with a bad zone, say) must not stop every
            # other incident's pages: log it and look at it again a minute later.
            logger.exception("escalation %s failed to advance", pk)
            Escalation.objects.filter(pk=pk, state=EscalationState.ACTIVE).update(
                next_at=now + timedelta(minutes=1)
            )
    return fired


def escalation_advance(
    *,
    escalation_id: int,
    now: datetime | None = None,
    dispatch: bool = True,
    on_call: dict[int, int | None] | None = None,
) -> bool:
    """Page the escalation's due level and schedule the next. False when not due or taken.

    Two ticks may pick the same row: `skip_locked` lets one take it and the other move on,
    and the due check under the lock stops a second page for a level already fired.
    """
    now = now or clock()
    with transaction.atomic():
        escalation = (
            # Of the escalation's row only: the policy joined in is shared by many.
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=escalation_id, state=EscalationState.ACTIVE, next_at__lte=now)
            .select_related("policy")
            .first()
        )
        if escalation is None:
            return False
        # Lock order: escalation, then incident (as incidents.services locks it: FOR NO KEY
        # UPDATE of its row alone). Acknowledging locks the incident, so an
        # acknowledgement either commits before this read (and nothing is paged) or waits
        # until these pages exist (and its subscriber cancels the ones not yet sent).
        incident = incident_services.incident_lock(escalation.incident_id)
        if incident.acknowledged_at is not None or incident.status == Status.RESOLVED:
            _finish(escalation, EscalationState.STOPPED, "acknowledged", now)
            return False
        policy = escalation.policy
        if policy is None:
            _finish(escalation, EscalationState.STOPPED, "no escalation policy applies", now)
            return False
        levels = selectors.policy_levels(policy)
        if not levels:
            _finish(escalation, EscalationState.EXHAUSTED, "the policy has no levels", now)
            return True
        level = levels[min(escalation.level_index, len(levels) - 1)]
        on_call = {} if on_call is None else on_call
        users = selectors.level_users(level, at=now, on_call=on_call)
        first_fire = escalation.level_index == 0 and escalation.cycle == 0
        if first_fire and escalation.page_management:
            for management in (lv for lv in levels[1:] if lv.management):
                more = selectors.level_users(management, at=now, on_call=on_call)
                users += [u for u in more if u not in users]
        label = f"level {escalation.level_index + 1}"
        if escalation.cycle:
            label += f", repeat {escalation.cycle}"
        _page(
            incident,
            users,
            key_prefix=(
                f"esc:{escalation.pk}:{escalation.run}:{escalation.cycle}:{escalation.level_index}"
            ),
            escalation=escalation,
            label=label,
            now=now,
        )
        _schedule_next(escalation, levels, repeat=policy.repeat, level_delay=level.delay, now=now)
        if dispatch:
            # Hand the pages out now; the tick passes False and hands out once for all.
            transaction.on_commit(
                lambda: notifications_dispatch_due(now=now, incident_id=incident.pk), robust=True
            )
    return True


def _schedule_next(
    escalation: Escalation,
    levels: list[EscalationLevel],
    *,
    repeat: int,
    level_delay: timedelta,
    now: datetime,
) -> None:
    """Caller holds the escalation's row lock."""
    next_index = escalation.level_index + 1
    cycle = escalation.cycle
    if next_index >= len(levels):
        next_index, cycle = 0, cycle + 1
    if cycle > repeat:
        # The last level still gets its full delay to answer before the policy gives up.
        escalation.level_index = len(levels) - 1
        escalation.next_at = None
        escalation.state = EscalationState.EXHAUSTED
        # When the policy gives up: the last level's time to answer is still running.
        escalation.stopped_at = now + level_delay
        escalation.stopped_reason = "every level was paged"
        escalation.save()
        return
    escalation.level_index = next_index
    escalation.cycle = cycle
    # From now, not from the planned time: each level gets its full delay to answer.
    escalation.next_at = now + level_delay
    escalation.save(update_fields=["level_index", "cycle", "next_at"])


def _finish(escalation: Escalation, state: str, reason: str, now: datetime) -> None:
    escalation.state = state
    escalation.next_at = None
    escalation.stopped_at = now
    escalation.stopped_reason = reason
    escalation.save(update_fields=["state", "next_at", "stopped_at", "stopped_reason"])


def _page(
    incident: Incident,
    users: list[User],
    *,
    key_prefix: str,
    escalation: Escalation | None,
    label: str,
    now: datetime,
) -> None:
    """Insert each person's notification steps; caller holds the incident's row lock."""
    if not users:
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            source=Source.SYSTEM,
            message=f"Nobody to page at {label}: no one is on call for its targets.",
            at=now,
        )
        return
    steps = selectors.paging_steps(users)
    rows: list[Notification] = []
    unreachable: list[str] = []
    for user in users:
        if not steps[user.pk]:
            unreachable.append(user.display_name)
            continue
        for rule in steps[user.pk]:
            delay_s = int(rule.delay.total_seconds())
            rows.append(
                Notification(
                    key=f"{key_prefix}:u{user.pk}:m{rule.contact_method_id}:d{delay_s}",
                    kind=NotificationKind.PAGE,
                    incident=incident,
                    escalation=escalation,
                    user=user,
                    contact_method=rule.contact_method,
                    level_index=escalation.level_index if escalation else None,
                    due_at=now + rule.delay,
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    incident_services.incident_add_responders(incident=incident, users=users)
    names = ", ".join(u.display_name for u in users if u.display_name not in unreachable)
    if names:
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            source=Source.SYSTEM,
            message=f"Paged {names} ({label})",
            data={"users": [u.username for u in users], "label": label},
            at=now,
        )
    for name in unreachable:
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            source=Source.SYSTEM,
            message=f"Could not page {name} ({label}): no verified contact method.",
            at=now,
        )


def incident_page_user(
    *, incident: Incident, user: User, actor: User, now: datetime | None = None
) -> None:
    """Page one person for an incident now, outside any escalation policy."""
    require(actor, Action.RESPOND, incident)
    # Paging makes them a participant, who may see a private incident: responders only.
    if not user.is_active or not user.can_respond:
        raise ValidationError({"user": f"{user.display_name} cannot be paged for incidents."})
    now = now or clock()
    with transaction.atomic():
        incident = incident_services.incident_lock(incident)
        _page(
            incident,
            [user],
            key_prefix=f"manual:{incident.pk}:{secrets.token_hex(6)}",
            escalation=None,
            label=f"paged by {actor.display_name}",
            now=now,
        )
        transaction.on_commit(
            lambda: notifications_dispatch_due(now=now, incident_id=incident.pk), robust=True
        )


def incident_page_team(
    *, incident: Incident, team: Team, actor: User, now: datetime | None = None
) -> list[User]:
    """The paging panel's "page a team": page whoever the first level of the team's escalation
    policy names now (its on-call), by hand like "page a person", so the incident's own
    escalation is left as it is. Returns the people paged."""
    require(actor, Action.RESPOND, incident)
    policy = selectors.team_policy(team.pk)
    if policy is None:
        raise ValidationError({"team": f"{team.name} has no escalation policy to page."})
    now = now or clock()
    levels = selectors.policy_levels(policy)
    named = selectors.level_users(levels[0], at=now) if levels else []
    # As for "page a person": paging makes them participants, who may see a private incident.
    users = [user for user in named if user.can_respond]
    with transaction.atomic():
        incident = incident_services.incident_lock(incident)
        _page(
            incident,
            users,
            key_prefix=f"manual:{incident.pk}:{secrets.token_hex(6)}",
            escalation=None,
            label=f"{team.name} on call, paged by {actor.display_name}",
            now=now,
        )
        for user in named:
            if user not in users:
                incident_services.incident_record_event(
                    incident=incident,
                    kind=EventKind.PAGE,
                    source=Source.SYSTEM,
                    message=f"Did not page {user.display_name} for {team.name}: "
                    "their role may not respond to incidents.",
                    at=now,
                )
        transaction.on_commit(
            lambda: notifications_dispatch_due(now=now, incident_id=incident.pk), robust=True
        )
    return users


def incident_escalate(
    *, incident: Incident, actor: User, now: datetime | None = None
) -> Escalation | None:
    """The incident page's "escalate": page the next level now, or, when nothing is paging
    (a SEV3, or a policy already run through), start the incident's policy from level 1."""
    require(actor, Action.RESPOND, incident)
    now = now or clock()
    if incident.acknowledged_at is not None or incident.status == Status.RESOLVED:
        raise ValidationError(
            "Someone has acknowledged this incident: page a person instead of escalating."
        )
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().filter(incident_id=incident.pk).first()
        if escalation is None:
            started = escalation_start(incident=incident, now=now, manual=True)
            if started is not None:
                incident_services.incident_record_event(
                    incident=incident,
                    kind=EventKind.PAGE,
                    actor=actor,
                    source=Source.WEB,
                    message=f"{actor.display_name} escalated to {policy_name(started)}",
                    at=now,
                )
            return started
        if escalation.policy is None:
            escalation.policy = selectors.policy_for_incident(incident)
            if escalation.policy is None:
                raise ValidationError("No escalation policy applies to this incident.")
        if escalation.state != EscalationState.ACTIVE:
            # A new run of the policy: its pages get keys of their own, not the last run's.
            escalation.state = EscalationState.ACTIVE
            escalation.run += 1
            escalation.level_index, escalation.cycle = 0, 0
            escalation.stopped_at, escalation.stopped_reason = None, ""
        escalation.next_at = now
        escalation.save()
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            actor=actor,
            source=Source.WEB,
            message=f"{actor.display_name} escalated to level {escalation.level_index + 1}",
            at=now,
        )
        transaction.on_commit(lambda: _enqueue_escalation(escalation.pk), robust=True)
    return escalation


def notifications_dispatch_due(
    *,
    now: datetime | None = None,
    limit: int = 500,
    enqueue: Enqueue = _enqueue_deliveries,
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
    *, now: datetime | None = None, enqueue: Enqueue = _enqueue_deliveries
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


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # an AttemptStatus, or "skipped" when the row was not ours to send
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
        return DeliveryOutcome("skipped")
    notification = Notification.objects.select_related(
        "incident__severity", "incident__team", "contact_method", "user"
    ).get(pk=notification_id)
    reason = _reason_not_to_send(notification)
    if reason:
        Notification.objects.filter(pk=notification.pk, state=NotificationState.SENDING).update(
            state=NotificationState.CANCELLED, last_error=reason
        )
        return DeliveryOutcome("skipped", reason)
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
            contact_method_disable(method=notification.contact_method, reason=str(error), now=now)
    return DeliveryOutcome(status, str(error))


def _record_attempt(
    notification: Notification,
    *,
    status: str,
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
    incident_services.incident_record_event(
        incident=notification.incident,
        kind=EventKind.PAGE,
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


def tick(*, now: datetime | None = None) -> None:
    """One beat of the engine: fire due levels, hand out due pages, rescue stuck ones."""
    now = now or clock()
    escalations_start_missed(now=now)
    escalations_advance_due(now=now)
    notifications_dispatch_due(now=now)
    notifications_rescue_stuck(now=now)


def escalations_start_missed(*, now: datetime | None = None) -> int:
    """Start escalations the IncidentDeclared subscriber missed (its process died after the
    incident committed): the incident row is the outbox."""
    now = now or clock()
    # Long enough for the start_escalation task to have run even behind a storm's worth of
    # them; sooner, every tick would race the tasks for the same incidents (measured).
    missed = Incident.objects.filter(
        status=Status.DETECTED,
        acknowledged_at__isnull=True,
        merged_into__isnull=True,
        declared_at__gte=now - START_WINDOW,
        declared_at__lte=now - MISSED_START_AFTER,
        severity__paging__in=PAGING_SEVERITIES,
        escalation__isnull=True,
    )
    started = 0
    for incident in missed[:20]:
        if escalation_start(incident=incident, now=now) is not None:
            started += 1
    return started


def contact_method_disable(*, method: ContactMethod, reason: str, now: datetime) -> None:
    """A provider said this address can never work: stop using it and tell its owner."""
    if not ContactMethod.objects.filter(pk=method.pk, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason[:500]
    ):
        return
    others = ContactMethod.objects.filter(
        user_id=method.user_id,
        kind=ContactKind.EMAIL,
        verified_at__isnull=False,
        disabled_at__isnull=True,
    ).exclude(pk=method.pk)
    for other in others[:1]:
        Notification.objects.create(
            key=f"notice:disabled:{method.pk}:{int(now.timestamp())}",
            kind=NotificationKind.NOTICE,
            user_id=method.user_id,
            contact_method=other,
            body=(
                f"Tocsin stopped paging you by {method.get_kind_display()} at {method.address}: "
                f"{reason}. Fix it on your profile page and verify it again."
            ),
            due_at=now,
            created_at=now,
        )


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _clean_address(kind: str, address: str) -> str:
    address = address.strip()
    if kind == ContactKind.EMAIL:
        validate_email(address)
        return address
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        number = re.sub(r"[\s().-]", "", address)
        if not _E164.match(number):
            raise ValidationError(
                {"address": "Enter the number in international form, e.g. +14155550100."}
            )
        return number
    if kind == ContactKind.SLACK:
        if not _SLACK_USER.match(address):
            raise ValidationError({"address": "Enter a Slack member ID, e.g. U024BE7LH."})
        return address
    if kind == ContactKind.WEBHOOK:
        URLValidator(schemes=["https", "http"])(address)
        refused = destination_refused(address)
        if refused:
            raise ValidationError({"address": refused})
        return address
    raise ValidationError({"kind": f"Unknown contact method {kind!r}."})


def contact_method_add(
    *, user: User, kind: str, address: str, label: str = "", now: datetime | None = None
) -> ContactMethod:
    """Add a way to reach `user`. Email, phone and Slack addresses get a verification code
    and are not paged until it is entered; a webhook is the owner's own endpoint, signed with
    a secret shown to them, and works at once."""
    now = now or clock()
    try:
        address = _clean_address(kind, address)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ValidationError({"address": error.messages}) from error
    if ContactMethod.objects.filter(
        user=user, kind=kind, address=address, removed_at__isnull=True
    ).exists():
        raise ValidationError({"address": "You already have this contact method."})
    webhook = kind == ContactKind.WEBHOOK
    method = ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address,
        label=label,
        secret=secrets.token_hex(32) if webhook else "",
        verified_at=now if webhook else None,
    )
    if not webhook:
        contact_method_send_code(method=method, now=now)
    return method


def contact_method_delete(
    *, actor: User, method: ContactMethod, now: datetime | None = None
) -> None:
    """Remove a contact method and its steps. One that pages went to is kept, disabled and
    hidden, so the incidents' page history still says how each person was paged; its pages
    not yet sent are cancelled."""
    if actor.pk != method.user_id and not actor.is_admin:
        raise PermissionDenied("You may only remove your own contact methods.")
    now = now or clock()
    with transaction.atomic():
        # Its verification codes and test pages are no history worth keeping an address for.
        paged = Notification.objects.filter(contact_method=method, kind=NotificationKind.PAGE)
        if not paged.exists():
            method.delete()
            return
        Notification.objects.filter(
            contact_method=method,
            state__in=(NotificationState.PENDING, NotificationState.QUEUED),
        ).update(state=NotificationState.CANCELLED, last_error="contact method removed")
        NotificationRule.objects.filter(contact_method=method).delete()
        ContactMethod.objects.filter(pk=method.pk).update(
            removed_at=now,
            disabled_at=now,
            disabled_reason="removed by its owner",
            verification_code_hash="",
            verification_expires_at=None,
        )


def notification_rule_add(
    *, actor: User, method: ContactMethod, delay: timedelta
) -> NotificationRule:
    """A step of how `method`'s owner wants to be paged: this method, `delay` after the page."""
    if actor.pk != method.user_id and not actor.is_admin:
        raise PermissionDenied("You may only change your own notification rules.")
    if not timedelta(0) <= delay <= timedelta(hours=2):
        raise ValidationError({"delay": "A step comes 0 to 120 minutes after the page."})
    if NotificationRule.objects.filter(contact_method=method, delay=delay).exists():
        raise ValidationError({"delay": "You already have this step."})
    return NotificationRule.objects.create(
        user_id=method.user_id, contact_method=method, delay=delay
    )


# "Use the recommended steps": chat and email at once, a text a minute later, a call at 5.
RECOMMENDED_DELAY = {
    ContactKind.EMAIL: timedelta(0),
    ContactKind.SLACK: timedelta(0),
    ContactKind.WEBHOOK: timedelta(0),
    ContactKind.SMS: timedelta(minutes=1),
    ContactKind.VOICE: timedelta(minutes=5),
}


def notification_rules_recommended(*, user: User) -> list[NotificationRule]:
    """Give someone without steps the recommended ones over their usable contact methods."""
    with transaction.atomic():
        # One at a time per person, so a double click cannot add the steps twice.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if NotificationRule.objects.filter(user=user).exists():
            raise ValidationError("You already have steps. Remove them to start over.")
        usable = [
            method
            for method in ContactMethod.objects.filter(user=user)
            if method.usable and method.kind in RECOMMENDED_DELAY
        ]
        if not usable:
            raise ValidationError("Add and verify a contact method first.")
        return [
            notification_rule_add(
                actor=user, method=method, delay=RECOMMENDED_DELAY[ContactKind(method.kind)]
            )
            for method in usable
        ]


def notification_rule_delete(*, actor: User, rule: NotificationRule) -> None:
    if actor.pk != rule.user_id and not actor.is_admin:
        raise PermissionDenied("You may only change your own notification rules.")
    rule.delete()


def _code_hash(method_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{method_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _require_owner(actor: User | None, method: ContactMethod) -> None:
    """`None` is the system itself (adding a method sends its first code)."""
    if actor is not None and actor.pk != method.user_id and not actor.is_admin:
        raise PermissionDenied("You may only use your own contact methods.")


def contact_method_send_code(
    *, method: ContactMethod, actor: User | None = None, now: datetime | None = None
) -> None:
    """Send a six-digit code to the address; using it proves the address reaches its owner."""
    _require_owner(actor, method)
    now = now or clock()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        method.verification_code_hash = _code_hash(method.pk, code)
        method.verification_expires_at = now + VERIFICATION_TTL
        method.verification_attempts = 0
        method.save(
            update_fields=[
                "verification_code_hash",
                "verification_expires_at",
                "verification_attempts",
            ]
        )
        notification = Notification.objects.create(
            key=f"verify:{method.pk}:{secrets.token_hex(6)}",
            kind=NotificationKind.VERIFICATION,
            user_id=method.user_id,
            contact_method=method,
            body=f"Your Tocsin verification code is {code}. It expires in 10 minutes.",
            due_at=now,
            created_at=now,
            state=NotificationState.QUEUED,
            queued_at=now,
        )
        # Just this one: a web request must not hand out every due page in the system.
        # Robust: with the broker down the row is committed all the same, and the rescue
        # sweep (notifications_rescue_stuck) sends it once the broker is back.
        transaction.on_commit(lambda: _enqueue_deliveries([notification.pk]), robust=True)


def contact_method_verify(
    *, method: ContactMethod, code: str, actor: User | None = None, now: datetime | None = None
) -> None:
    _require_owner(actor, method)
    now = now or clock()
    with transaction.atomic():
        method = ContactMethod.objects.select_for_update().get(pk=method.pk)
        expired = method.verification_expires_at is None or method.verification_expires_at < now
        if expired or method.verification_attempts >= VERIFICATION_MAX_TRIES:
            raise ValidationError({"code": "This code has expired. Send a new one."})
        right = hmac.compare_digest(method.verification_code_hash, _code_hash(method.pk, code))
        if right:
            method.verified_at = now
            method.disabled_at = None
            method.disabled_reason = ""
            method.verification_code_hash = ""
            method.verification_expires_at = None
            method.save()
        else:
            # Counted (and committed) before answering, so guessing has a budget.
            method.verification_attempts += 1
            method.save(update_fields=["verification_attempts"])
    if not right:
        raise ValidationError({"code": "That code is not right."})


def contact_method_send_test(
    *, method: ContactMethod, actor: User | None = None, now: datetime | None = None
) -> None:
    """The profile page's "send me a test page"."""
    _require_owner(actor, method)
    now = now or clock()
    with transaction.atomic():
        notification = Notification.objects.create(
            key=f"test:{method.pk}:{secrets.token_hex(6)}",
            kind=NotificationKind.TEST,
            user_id=method.user_id,
            contact_method=method,
            body="This is a test page from Tocsin. If you can read it, pages will reach you here.",
            due_at=now,
            created_at=now,
            state=NotificationState.QUEUED,
            queued_at=now,
        )
        # Just this one: a web request must not hand out every due page in the system.
        # Robust: with the broker down the row is committed all the same, and the rescue
        # sweep (notifications_rescue_stuck) sends it once the broker is back.
        transaction.on_commit(lambda: _enqueue_deliveries([notification.pk]), robust=True)


def _valid_zone(name: str, field: str = "time_zone") -> str:
    # A known IANA name: ZoneInfo() itself would read "America" (a directory) or a 300-character
    # name from the file system and raise OSError.
    if zone_named(name) is None:
        raise ValidationError({field: f"Unknown time zone {shown(name)!r}."})
    return name


def _clean_restrictions(raw: object) -> list[dict[str, object]]:
    """[{"start": "HH:MM", "end": "HH:MM", "weekdays": [0..6]}]; end <= start runs overnight."""
    if not isinstance(raw, list):
        raise ValidationError({"restrictions": "Expected a list of windows."})
    cleaned: list[dict[str, object]] = []
    for index, window in enumerate(raw):
        try:
            start = time.fromisoformat(str(window["start"]))
            end = time.fromisoformat(str(window["end"]))
            weekdays = sorted({int(day) for day in window.get("weekdays", [])})
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValidationError(
                {"restrictions": f"Window {index + 1}: give start and end as HH:MM."}
            ) from None
        if any(day < 0 or day > 6 for day in weekdays):
            raise ValidationError({"restrictions": "Weekdays run from 0 (Monday) to 6."})
        if start == end:
            raise ValidationError({"restrictions": f"Window {index + 1} is empty."})
        cleaned.append(
            {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "weekdays": weekdays}
        )
    return cleaned


def schedule_create(
    *, actor: User | None, team: Team, name: str, time_zone: str = "UTC", description: str = ""
) -> Schedule:
    require(actor, Action.MANAGE_ONCALL)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A name is required."})
    if Schedule.objects.filter(team=team, name=name).exists():
        raise ValidationError({"name": f"{team.name} already has a schedule called {name}."})
    schedule = Schedule.objects.create(
        team=team, name=name, time_zone=_valid_zone(time_zone), description=description
    )
    logger.info("schedule %s created by %s", schedule.pk, _who(actor))
    return schedule


def schedule_update(
    *,
    actor: User | None,
    schedule: Schedule,
    team: Team,
    name: str,
    time_zone: str,
    description: str = "",
) -> Schedule:
    """Rename a schedule, move it to another team, or change its zone or description; its
    layers and overrides stay as they are."""
    require(actor, Action.MANAGE_ONCALL)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A name is required."})
    if Schedule.objects.filter(team=team, name=name).exclude(pk=schedule.pk).exists():
        raise ValidationError({"name": f"{team.name} already has a schedule called {name}."})
    schedule.team, schedule.name, schedule.description = team, name, description
    schedule.time_zone = _valid_zone(time_zone)
    schedule.save(update_fields=["team", "name", "time_zone", "description"])
    logger.info("schedule %s updated by %s", schedule.pk, _who(actor))
    return schedule


def schedule_delete(*, actor: User | None, schedule: Schedule) -> None:
    """Delete a schedule no escalation policy pages: deleting one a policy names would leave
    that level paging nobody, so the policy must drop it first (the target's PROTECT)."""
    require(actor, Action.MANAGE_ONCALL)
    pk = schedule.pk
    try:
        with transaction.atomic():
            schedule.delete()
    except ProtectedError as error:
        names = EscalationTarget.objects.filter(schedule_id=pk).values_list(
            "level__policy__name", flat=True
        )
        policies = sorted(set(names))
        raise ValidationError(
            f"{schedule.name} is paged by {', '.join(policies)}: "
            "remove it from those policies first."
        ) from error
    logger.info("schedule %s (%s) deleted by %s", pk, schedule.name, _who(actor))


def schedule_rotate_feed_token(*, actor: User | None, schedule: Schedule) -> Schedule:
    """A new secret iCal URL; calendars subscribed to the old one stop updating."""
    require(actor, Action.MANAGE_ONCALL)
    schedule.feed_token = secrets.token_urlsafe(24)
    schedule.save(update_fields=["feed_token"])
    return schedule


@dataclass(frozen=True)
class LayerSpec:
    """What a layer is made of, as forms and the API give it."""

    name: str
    participants: list[User]
    rotation_start: datetime
    shift_length: str = ShiftLength.WEEKLY
    shift_hours: int = 24
    time_zone: str = "UTC"
    restrictions: list[dict[str, object]] | None = None
    level: int = 1


def _clean_layer(spec: LayerSpec) -> LayerSpec:
    if not spec.name.strip():
        raise ValidationError({"name": "A name is required."})
    if not spec.participants:
        raise ValidationError({"participants": "A rotation needs at least one person."})
    if spec.rotation_start.tzinfo is None:
        raise ValidationError({"rotation_start": "Give the start with its time zone."})
    if error := plan_time_error(spec.rotation_start):
        raise ValidationError({"rotation_start": error})
    if spec.shift_length not in ShiftLength.values:
        raise ValidationError({"shift_length": "Choose daily, weekly or every N hours."})
    if spec.shift_length == ShiftLength.HOURS and not 1 <= spec.shift_hours <= 24 * 28:
        raise ValidationError({"shift_hours": "A shift lasts from 1 hour to 4 weeks."})
    _valid_zone(spec.time_zone)
    return LayerSpec(
        name=spec.name.strip(),
        participants=spec.participants,
        rotation_start=spec.rotation_start,
        shift_length=spec.shift_length,
        shift_hours=spec.shift_hours,
        time_zone=spec.time_zone,
        restrictions=_clean_restrictions(spec.restrictions or []),
        level=spec.level,
    )


def _write_layer(
    schedule: Schedule, spec: LayerSpec, *, starts_at: datetime | None
) -> ScheduleLayer:
    layer = ScheduleLayer.objects.create(
        schedule=schedule,
        name=spec.name,
        level=spec.level,
        rotation_start=spec.rotation_start,
        shift_length=spec.shift_length,
        shift_hours=spec.shift_hours,
        time_zone=spec.time_zone,
        restrictions=spec.restrictions or [],
        starts_at=starts_at,
    )
    LayerParticipant.objects.bulk_create(
        LayerParticipant(layer=layer, user=user, position=position)
        for position, user in enumerate(spec.participants)
    )
    return layer


def layer_create(*, actor: User | None, schedule: Schedule, spec: LayerSpec) -> ScheduleLayer:
    require(actor, Action.MANAGE_ONCALL)
    spec = _clean_layer(spec)
    with transaction.atomic():
        return _write_layer(schedule, spec, starts_at=None)


def layer_change(
    *,
    actor: User | None,
    layer: ScheduleLayer,
    spec: LayerSpec,
    effective_at: datetime | None = None,
) -> ScheduleLayer:
    """Change a rotation from `effective_at` (now) on, keeping its past as it was: the old
    layer ends there and a new one starts, so past shifts and the calendar's history stay
    true (participants added or removed mid-rotation)."""
    require(actor, Action.MANAGE_ONCALL)
    spec = _clean_layer(spec)
    effective_at = effective_at or clock()
    with transaction.atomic():
        layer = ScheduleLayer.objects.select_for_update().get(pk=layer.pk)
        if layer.ends_at is not None and layer.ends_at <= effective_at:
            raise ValidationError({"layer": "This layer has already ended."})
        started = max(layer.starts_at or layer.rotation_start, layer.rotation_start)
        if started >= effective_at:
            # Not begun yet: nothing to keep, change it in place.
            layer.delete()
            return _write_layer(layer.schedule, spec, starts_at=None)
        layer.ends_at = effective_at
        layer.save(update_fields=["ends_at"])
        return _write_layer(layer.schedule, spec, starts_at=effective_at)


def layer_end(
    *, actor: User | None, layer: ScheduleLayer, effective_at: datetime | None = None
) -> None:
    require(actor, Action.MANAGE_ONCALL)
    effective_at = effective_at or clock()
    ScheduleLayer.objects.filter(pk=layer.pk).update(ends_at=effective_at)


def override_create(
    *,
    actor: User | None,
    schedule: Schedule,
    user: User,
    start: datetime,
    end: datetime,
    note: str = "",
    now: datetime | None = None,
) -> ScheduleOverride:
    """Put `user` on call for [start, end): "take this shift", "cover for me".

    The people whose time it takes, and `user`, are sent a notice (unless they added it
    themselves): nobody should find out at 3 a.m. that they were, or were not, on call.
    """
    if actor is not None and not selectors.can_override(actor, schedule):
        raise PermissionDenied(
            "You may change who is on call only on your own teams' schedules."
            if actor.is_active and actor.can_respond
            else "You may not change who is on call."
        )
    for name, value in (("start", start), ("end", end)):
        if error := plan_time_error(value):
            raise ValidationError({name: error})
    if end <= start:
        raise ValidationError({"end": "The override must end after it starts."})
    if end - start > timedelta(days=90):
        raise ValidationError({"end": "An override lasts at most 90 days."})
    if not user.is_active or not user.can_respond:
        raise ValidationError({"user": f"{user.display_name} cannot be on call."})
    now = now or clock()
    with transaction.atomic():
        spec = selectors.schedule_spec(schedule, start=start, end=end)
        replaced = sorted({shift.user_id for shift in shifts(spec, start, end)} - {user.pk})
        override = ScheduleOverride.objects.create(
            schedule=schedule, user=user, start=start, end=end, note=note, created_by=actor
        )
        _override_notices(override, replaced=replaced, actor=actor, now=now)
    logger.info(
        "override %s on schedule %s: %s on call %s to %s in place of %s, added by %s",
        override.pk,
        schedule.pk,
        user.username,
        start.isoformat(),
        end.isoformat(),
        ", ".join(str(pk) for pk in replaced) or "nobody",
        _who(actor),
    )
    return override


def _override_notices(
    override: ScheduleOverride, *, replaced: list[int], actor: User | None, now: datetime
) -> None:
    """Notices, due now, to `user` and to the people whose on-call time the override takes;
    the tick hands them out like any other notification."""
    recipients = {*replaced, override.user_id} - ({actor.pk} if actor is not None else set())
    methods = selectors.notice_methods(recipients)
    Notification.objects.bulk_create(
        Notification(
            key=f"notice:override:{override.pk}:{recipient_id}",
            kind=NotificationKind.NOTICE,
            user_id=recipient_id,
            contact_method=method,
            body=override_notice(override, recipient_id=recipient_id, actor=actor),
            due_at=now,
            created_at=now,
        )
        for recipient_id, method in sorted(methods.items())
    )


def override_delete(*, actor: User | None, override: ScheduleOverride) -> None:
    if actor is not None and not (actor.can_manage or override.created_by_id == actor.pk):
        raise PermissionDenied("Only its author or a manager may remove an override.")
    override.delete()


@dataclass(frozen=True)
class LevelSpec:
    delay: timedelta
    users: list[User]
    schedules: list[Schedule]
    lead_teams: list[Team]
    management: bool = False


def policy_save(
    *,
    actor: User | None,
    name: str,
    levels: list[LevelSpec],
    team: Team | None = None,
    repeat: int = 0,
    is_default: bool = False,
    description: str = "",
    policy: EscalationPolicy | None = None,
) -> EscalationPolicy:
    """Create a policy, or replace an existing one's settings and levels.

    Running escalations keep their place: they read the levels as they are at each step.
    """
    require(actor, Action.MANAGE_ONCALL)
    name = name.strip()
    others = EscalationPolicy.objects.exclude(pk=policy.pk) if policy else EscalationPolicy.objects
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A name is required."
    elif others.filter(name=name).exists():
        errors["name"] = f"There is already a policy called {name}."
    if not levels:
        errors["levels"] = "A policy needs at least one level."
    for number, wanted in enumerate(levels, start=1):
        if not (wanted.users or wanted.schedules or wanted.lead_teams):
            errors["levels"] = f"Level {number} pages nobody: add a person, schedule or team."
        if wanted.delay <= timedelta(0):
            errors["levels"] = f"Level {number} needs a time to acknowledge."
    if not 0 <= repeat <= 9:
        errors["repeat"] = "Repeat the policy 0 to 9 times."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if is_default:
            others.filter(is_default=True).update(is_default=False)
        if policy is None:
            policy = EscalationPolicy(name=name)
        policy.name = name
        policy.team = team
        policy.repeat = repeat
        policy.is_default = is_default
        policy.description = description
        policy.save()
        policy.levels.all().delete()
        for position, spec in enumerate(levels, start=1):
            level = EscalationLevel.objects.create(
                policy=policy, position=position, delay=spec.delay, management=spec.management
            )
            EscalationTarget.objects.bulk_create(
                [EscalationTarget(level=level, kind=TargetKind.USER, user=u) for u in spec.users]
                + [
                    EscalationTarget(level=level, kind=TargetKind.SCHEDULE, schedule=s)
                    for s in spec.schedules
                ]
                + [
                    EscalationTarget(level=level, kind=TargetKind.TEAM_LEADS, team=t)
                    for t in spec.lead_teams
                ]
            )
    logger.info("escalation policy %s saved by %s", policy.pk, _who(actor))
    return policy


def policy_delete(*, actor: User | None, policy: EscalationPolicy) -> None:
    """Delete a policy nothing depends on. The default, a team's policy, one an integration
    routes to, and one that has paged incidents (their history names it) are kept: deleting
    them would quietly hand incidents to another policy, or lose history."""
    require(actor, Action.MANAGE_ONCALL)
    pk = policy.pk
    try:
        with transaction.atomic():
            # Re-read under its lock: it may have become the default meanwhile.
            policy = EscalationPolicy.objects.select_for_update().get(pk=pk)
            if policy.is_default:
                raise ValidationError(
                    f"{policy.name} is the default policy: make another one the default first."
                )
            if policy.team_id is not None and selectors.team_policy(policy.team_id) == policy:
                raise ValidationError(
                    f"The incidents of team {policy.team} use {policy.name}: give the team "
                    "another policy first."
                )
            policy.delete()
    except ProtectedError as error:
        names = sorted(o.name for o in error.protected_objects if isinstance(o, Integration))
        if names:
            raise ValidationError(
                f"The integrations {', '.join(names)} route to {policy.name}: choose another "
                "policy on their pages first."
            ) from error
        raise ValidationError(
            f"{policy.name} has paged incidents, whose history names it, so it is kept. "
            "Rename it, or change its levels, instead."
        ) from error
    logger.info("escalation policy %s (%s) deleted by %s", pk, policy.name, _who(actor))


def _who(actor: User | None) -> str:
    return actor.username if actor is not None else "the system"


def calendar_feed_get_or_create(*, user: User) -> CalendarFeed:
    """The secret of `user`'s own iCal URL, made the first time they look for it."""
    # get_or_create retries the read when a concurrent request inserted the row first.
    feed, created = CalendarFeed.objects.get_or_create(user=user)
    if created:
        logger.info("calendar feed created for %s", user.username)
    return feed


def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """A new secret for `user`'s own iCal URL; calendars subscribed to the old one stop."""
    with transaction.atomic():
        feed, _ = CalendarFeed.objects.select_for_update().get_or_create(user=user)
        feed.token = secrets.token_urlsafe(24)
        feed.save(update_fields=["token"])
    logger.info("calendar feed rotated by %s", user.username)
    return feed
