"""The paging engine: escalations start, advance level by level, stop; and the tick.

How a page travels (DESIGN.md rules 3 and 4): declaring an incident whose severity pages
creates an `Escalation` row due now. A tick (Celery beat, every second; also run at once when
an escalation starts) claims due escalations with `select_for_update(skip_locked=True)` and
inserts one `Notification` per person and notification-rule step under a unique key, then
moves the escalation to its next level. The tick also claims due notifications (pending ->
queued) and enqueues their delivery after commit (oncall.services.deliveries). What responders
page by hand from the incident page is in oncall.services.paging_by_hand.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from accounts.actors import SYSTEM
from accounts.models import User
from incidents import services as incident_services
from incidents.locks import incident_lock
from incidents.models import EventKind, Incident, Paging, Source, Status
from incidents.timeline import incident_record_event
from oncall import selectors
from oncall.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationState,
    Notification,
    NotificationKind,
    NotificationState,
)
from oncall.selectors import PAGING_SEVERITIES
from oncall.services import deliveries, handoff
from oncall.services.base import clock

logger = logging.getLogger(__name__)

# Incidents declared longer ago than this are history being entered (imports, demo data),
# not something to wake people for.
START_WINDOW = timedelta(hours=1)
# An incident still without its escalation this long after being declared lost its
# start_escalation task (Redis restarted, a worker killed); the tick starts it.
MISSED_START_AFTER = timedelta(seconds=30)


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
        incident = incident_lock(incident)
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
            incident_record_event(
                incident=incident,
                kind=EventKind.PAGE,
                actor=SYSTEM,
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
        incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            actor=SYSTEM,
            source=Source.SYSTEM,
            message=f"Escalation policy {policy.name} started",
            data={"policy": policy.pk},
            at=now,
        )
        if fire_now:
            transaction.on_commit(lambda: handoff.fire_escalation(escalation.pk), robust=True)
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
        page_people(
            incident,
            users,
            key_prefix=f"esc:{escalation.pk}:{escalation.run}:management",
            escalation=escalation,
            label="management, severity raised",
            now=now,
        )
        transaction.on_commit(
            lambda: deliveries.notifications_dispatch_due(now=now, incident_id=incident.pk),
            robust=True,
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


def escalation_stop(
    *, incident_id: int, reason: str, now: datetime | None = None, by_hand_too: bool = False
) -> bool:
    """Stop paging an incident and cancel its policy's pages not yet handed to a notifier;
    with `by_hand_too` (resolved, merged away), every page not yet handed out."""
    now = now or clock()
    with transaction.atomic():
        stopped = Escalation.objects.filter(
            incident_id=incident_id, state=EscalationState.ACTIVE
        ).update(state=EscalationState.STOPPED, stopped_at=now, stopped_reason=reason, next_at=None)
        # After an acknowledgement the policy's pages only: someone paged by hand was asked
        # for on purpose, often after it ("bring in the database expert"). Once resolved,
        # nobody is to be woken; the delivery would refuse them anyway, and until then the
        # paging panel would show them as on their way.
        unsent = Notification.objects.filter(
            incident_id=incident_id,
            kind=NotificationKind.PAGE,
            state__in=(NotificationState.PENDING, NotificationState.QUEUED),
        )
        if not by_hand_too:
            unsent = unsent.filter(escalation__isnull=False)
        unsent.update(state=NotificationState.CANCELLED, last_error=reason)
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
        incident = incident_lock(escalation.incident_id)
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
        page_people(
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
                lambda: deliveries.notifications_dispatch_due(now=now, incident_id=incident.pk),
                robust=True,
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


def _finish(escalation: Escalation, state: EscalationState, reason: str, now: datetime) -> None:
    escalation.state = state
    escalation.next_at = None
    escalation.stopped_at = now
    escalation.stopped_reason = reason
    escalation.save(update_fields=["state", "next_at", "stopped_at", "stopped_reason"])


def page_people(
    incident: Incident,
    users: list[User],
    *,
    key_prefix: str,
    escalation: Escalation | None,
    label: str,
    now: datetime,
) -> None:
    """Insert each person's notification steps (`label` says what paged them, on the rows and
    the timeline) and make them responders. Caller holds the incident's row lock."""
    if not users:
        incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            actor=SYSTEM,
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
                    label=label[:200],
                    due_at=now + rule.delay,
                    created_at=now,
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    incident_services.incident_add_responders(incident=incident, users=users)
    names = ", ".join(u.display_name for u in users if u.display_name not in unreachable)
    if names:
        incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            actor=SYSTEM,
            source=Source.SYSTEM,
            message=f"Paged {names} ({label})",
            data={"users": [u.username for u in users], "label": label},
            at=now,
        )
    for name in unreachable:
        incident_record_event(
            incident=incident,
            kind=EventKind.PAGE,
            actor=SYSTEM,
            source=Source.SYSTEM,
            message=f"Could not page {name} ({label}): no verified contact method.",
            at=now,
        )


def tick(*, now: datetime | None = None) -> None:
    """One beat of the engine: fire due levels, hand out due pages, rescue stuck ones."""
    now = now or clock()
    escalations_start_missed(now=now)
    escalations_advance_due(now=now)
    deliveries.notifications_dispatch_due(now=now)
    deliveries.notifications_rescue_stuck(now=now)


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
