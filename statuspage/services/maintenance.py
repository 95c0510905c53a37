"""Scheduled maintenance: scheduling, rescheduling and editing, posting updates, cancelling,
completing early, and the timers that start and complete a window by themselves.

Each maintenance has up to three timer rows (models.MaintenanceTimer): a reminder 60 minutes
before (when scheduled more than an hour ahead), its start and its end. `timers_run` (from
the tick) claims due rows with a lease and fires each in its own transaction; see the model's
docstring for why a killed worker neither loses nor doubles a step.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actors import Actor, actor_user
from incidents.permissions import Action, require
from ops.timestamps import plan_time_error
from statuspage import versions
from statuspage.models import (
    Component,
    Maintenance,
    MaintenanceStatus,
    MaintenanceTimer,
    MaintenanceUpdate,
    MaintenanceUpdateKind,
    TimerKind,
)
from statuspage.services.notices import MaintenanceEvent, maintenance_notice
from statuspage.services.states import states_recompute

REMINDER_BEFORE = timedelta(minutes=60)
# What the public is told in one message or update, as an incident's status update may hold.
TEXT_MAX_LENGTH = 10_000
# How long a claimed timer is left to its worker before another tick may take it over: far
# longer than a step takes (a few queries), short enough that a lost start is minutes late.
LEASE = timedelta(minutes=2)
BATCH = 50

STARTED_TEXT = (
    "Scheduled maintenance is currently in progress. We will provide updates as necessary."
)
COMPLETED_TEXT = "The scheduled maintenance has been completed."
CANCELLED_TEXT = "This scheduled maintenance has been cancelled."
# How the update a move leaves begins (the feeds title it by these).
RESCHEDULED_TEXT = "The maintenance has been rescheduled:"
EXTENDED_TEXT = "The maintenance has been extended:"


def maintenance_schedule(
    *,
    actor: Actor,
    name: str,
    message: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component],
    now: datetime | None = None,
) -> Maintenance:
    require(actor, Action.MANAGE_CATALOG)
    now = now or timezone.now()
    name, message, components = name.strip(), message.strip(), list(components)
    _check_window(
        name=name,
        message=message,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        components=components,
        now=now,
    )
    with transaction.atomic():
        maintenance = Maintenance.objects.create(
            name=name,
            message=message,
            scheduled_for=scheduled_for,
            scheduled_until=scheduled_until,
            created_by=actor_user(actor),
            created_at=now,
            updated_at=now,
        )
        maintenance.components.set(components)
        _record(maintenance, MaintenanceStatus.SCHEDULED, message, now=now)
        timers = [
            MaintenanceTimer(maintenance=maintenance, kind=TimerKind.START, due_at=scheduled_for),
            MaintenanceTimer(maintenance=maintenance, kind=TimerKind.END, due_at=scheduled_until),
        ]
        # Scheduled within the hour, the announcement is the reminder.
        if scheduled_for - REMINDER_BEFORE > now:
            timers.append(
                MaintenanceTimer(
                    maintenance=maintenance,
                    kind=TimerKind.REMINDER_60,
                    due_at=scheduled_for - REMINDER_BEFORE,
                )
            )
        MaintenanceTimer.objects.bulk_create(timers)
        maintenance_notice(maintenance=maintenance, event=MaintenanceEvent.SCHEDULED, now=now)
        versions.bump()
    return maintenance


def _check_window(
    *,
    name: str,
    message: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: list[Component],
    now: datetime,
) -> None:
    """A ValidationError naming each field a window to schedule (or move) cannot have."""
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A maintenance needs a name."
    if not message:
        errors["message"] = "Tell the public what will happen."
    elif len(message) > TEXT_MAX_LENGTH:
        errors["message"] = f"Keep it to {TEXT_MAX_LENGTH:,} characters."
    # A time out of this window would overflow the reminder's arithmetic, or be shown nowhere.
    for field, value in (("scheduled_for", scheduled_for), ("scheduled_until", scheduled_until)):
        error = plan_time_error(value, now=now)
        if error:
            errors[field] = error
    if "scheduled_until" not in errors:
        if scheduled_until <= scheduled_for:
            errors["scheduled_until"] = "The window must end after it starts."
        elif scheduled_until <= now:
            errors["scheduled_until"] = "The window is already over."
    if not components:
        errors["components"] = "Choose the components under maintenance."
    if errors:
        raise ValidationError(errors)


def maintenance_edit(
    *,
    actor: Actor,
    maintenance: Maintenance,
    name: str,
    message: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    components: Iterable[Component],
    now: datetime | None = None,
) -> Maintenance:
    """Change a scheduled maintenance's name, message, window or components; once it has
    started, only make it end later. A moved window moves its timers (a claim a tick holds on
    one is voided, so nothing fires at the old time); a move or new components leave an update
    on the page and tell the subscribers (of the old components and the new) once. Nothing
    changed writes nothing."""
    require(actor, Action.MANAGE_CATALOG)
    now = now or timezone.now()
    name, message, components = name.strip(), message.strip(), list(components)
    with transaction.atomic():
        maintenance, locked = _lock_with_timers(maintenance)
        timers = {timer.kind: timer for timer in locked}
        started = maintenance.status in (
            MaintenanceStatus.IN_PROGRESS,
            MaintenanceStatus.VERIFYING,
        )
        if not started and maintenance.status != MaintenanceStatus.SCHEDULED:
            raise ValidationError("A maintenance that is over can no longer be changed.")
        # The form's time inputs carry minutes only: the time it was shown, sent back
        # unchanged, is the stored time, seconds and all, not a move.
        if _to_minute(scheduled_for) == _to_minute(maintenance.scheduled_for):
            scheduled_for = maintenance.scheduled_for
        if _to_minute(scheduled_until) == _to_minute(maintenance.scheduled_until):
            scheduled_until = maintenance.scheduled_until
        moved = (scheduled_for, scheduled_until) != (
            maintenance.scheduled_for,
            maintenance.scheduled_until,
        )
        components_changed = {component.pk for component in components} != set(
            maintenance.components.values_list("pk", flat=True)
        )
        details_changed = (name, message) != (
            maintenance.name,
            maintenance.message,
        ) or components_changed
        if started:
            _check_extension(
                maintenance,
                changed=details_changed or scheduled_for != maintenance.scheduled_for,
                scheduled_until=scheduled_until,
                now=now,
            )
        else:
            _check_window(
                name=name,
                message=message,
                scheduled_for=scheduled_for,
                scheduled_until=scheduled_until,
                components=components,
                now=now,
            )
        if not (moved or details_changed):
            return maintenance
        maintenance.name, maintenance.message = name, message
        maintenance.scheduled_for, maintenance.scheduled_until = scheduled_for, scheduled_until
        maintenance.updated_at = now
        maintenance.save(
            update_fields=["name", "message", "scheduled_for", "scheduled_until", "updated_at"]
        )
        if moved:
            _move_timers(maintenance, timers, started=started, now=now)
        if moved or components_changed:
            _tell_changed(
                maintenance,
                started=started,
                moved=moved,
                components=components if components_changed else None,
                now=now,
            )
        versions.bump()
    return maintenance


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _check_extension(
    maintenance: Maintenance, *, changed: bool, scheduled_until: datetime, now: datetime
) -> None:
    """A window in progress may only be made to end later."""
    if changed:
        raise ValidationError(
            "A maintenance in progress can only be extended: change its end, nothing else."
        )
    error = plan_time_error(scheduled_until, now=now)
    if error:
        raise ValidationError({"scheduled_until": error})
    if scheduled_until < maintenance.scheduled_until:
        raise ValidationError(
            {
                "scheduled_until": "A maintenance in progress can only end later; complete it now "
                "to end it early."
            }
        )
    if scheduled_until <= now:
        raise ValidationError({"scheduled_until": "The window is already over."})


def _move_timers(
    maintenance: Maintenance,
    timers: dict[str, MaintenanceTimer],
    *,
    started: bool,
    now: datetime,
) -> None:
    """Caller holds the locks on the maintenance and its timers. Each moved timer is due
    afresh and unclaimed: a tick that claimed it at the old time finds its claim gone."""
    due = {TimerKind.END: maintenance.scheduled_until}
    if not started:
        due[TimerKind.START] = maintenance.scheduled_for
        reminder = timers.get(TimerKind.REMINDER_60)
        reminder_at = maintenance.scheduled_for - REMINDER_BEFORE
        if reminder_at > now:
            # Armed again for a new start, whether the old start's was sent or skipped (moved
            # within the hour): told once per start time (see timer_fire).
            if reminder is None or reminder.done_at is None or reminder.due_at != reminder_at:
                due[TimerKind.REMINDER_60] = reminder_at
        elif reminder is not None and reminder.done_at is None:
            # Moved to within the hour: the notice of the move is the reminder.
            MaintenanceTimer.objects.filter(pk=reminder.pk).update(done_at=now)
    for kind, due_at in due.items():
        MaintenanceTimer.objects.update_or_create(
            maintenance=maintenance,
            kind=kind,
            defaults={"due_at": due_at, "claimed_at": None, "done_at": None},
        )


def _tell_changed(
    maintenance: Maintenance,
    *,
    started: bool,
    moved: bool,
    components: list[Component] | None,
    now: datetime,
) -> None:
    """Leave an update on the page and tell the subscribers once of a move or of new
    `components` (set here, None when they did not change)."""
    zone = ZoneInfo(settings.STATUSPAGE_TIME_ZONE)
    until = f"{maintenance.scheduled_until.astimezone(zone):%Y-%m-%d %H:%M}"
    if started:
        body = f"{EXTENDED_TEXT} it is now expected to end at {until} ({zone})."
        event, kind = MaintenanceEvent.EXTENDED, MaintenanceUpdateKind.EXTENDED
    elif moved:
        start = f"{maintenance.scheduled_for.astimezone(zone):%Y-%m-%d %H:%M}"
        body = f"{RESCHEDULED_TEXT} from {start} to {until} ({zone})."
        event, kind = MaintenanceEvent.RESCHEDULED, MaintenanceUpdateKind.RESCHEDULED
    else:
        body = "The components under maintenance have changed."
        event, kind = MaintenanceEvent.COMPONENTS_CHANGED, MaintenanceUpdateKind.CHANGED
    # The public's names only: a component of a private service is not theirs to see.
    shown = ", ".join(str(c) for c in components or [] if c.service.public)
    if shown:
        body += f" Under maintenance now: {shown}."
    update = _record(maintenance, MaintenanceStatus(maintenance.status), body, now=now, kind=kind)
    maintenance_notice(maintenance=maintenance, event=event, now=now, occurrence=update.code)
    if components is not None:
        # Told under the old components above and under the new ones here: the subscribers
        # of a component taken out hear of it too, and the same event key tells whoever
        # follows both once.
        maintenance.components.set(components)
        maintenance_notice(maintenance=maintenance, event=event, now=now, occurrence=update.code)


def maintenance_update_post(
    *, actor: Actor, maintenance: Maintenance, body: str, now: datetime | None = None
) -> MaintenanceUpdate:
    """A public update on a maintenance not yet over (its progress, a delay), shown with its
    other updates under its current status, in the API and the feeds, and told to the
    subscribers of its components."""
    require(actor, Action.MANAGE_CATALOG)
    now = now or timezone.now()
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write the update."})
    if len(body) > TEXT_MAX_LENGTH:
        raise ValidationError({"body": f"Keep it to {TEXT_MAX_LENGTH:,} characters."})
    with transaction.atomic():
        maintenance = _lock(maintenance)
        if maintenance.status not in (
            MaintenanceStatus.SCHEDULED,
            MaintenanceStatus.IN_PROGRESS,
            MaintenanceStatus.VERIFYING,
        ):
            raise ValidationError("A maintenance that is over takes no more updates.")
        update = _record(
            maintenance,
            MaintenanceStatus(maintenance.status),
            body,
            now=now,
            kind=MaintenanceUpdateKind.POSTED,
        )
        maintenance.updated_at = now
        maintenance.save(update_fields=["updated_at"])
        # Told once each, as an update, under the maintenance's current status (the webhook's
        # `status`), with these words.
        maintenance_notice(
            maintenance=maintenance, event=MaintenanceEvent.UPDATED, now=now, occurrence=update.code
        )
        versions.bump()
    return update


def _record(
    maintenance: Maintenance,
    status: MaintenanceStatus,
    body: str,
    *,
    now: datetime,
    kind: MaintenanceUpdateKind = MaintenanceUpdateKind.STEP,
) -> MaintenanceUpdate:
    """Leave an update on the maintenance, with the window as it stands now."""
    return MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=status,
        kind=kind,
        body=body,
        created_at=now,
        scheduled_for=maintenance.scheduled_for,
        scheduled_until=maintenance.scheduled_until,
    )


def _lock(maintenance: Maintenance | int) -> Maintenance:
    pk = maintenance if isinstance(maintenance, int) else maintenance.pk
    return Maintenance.objects.select_for_update().get(pk=pk)


def _lock_with_timers(
    maintenance: Maintenance | int,
) -> tuple[Maintenance, list[MaintenanceTimer]]:
    """The maintenance and its timers locked, the timers first (in pk order) then the
    maintenance, by timer_fire and by every change by hand alike: a change that stops or
    moves timers and a tick firing one wait for each other instead of deadlocking."""
    pk = maintenance if isinstance(maintenance, int) else maintenance.pk
    timers = list(
        MaintenanceTimer.objects.select_for_update().filter(maintenance_id=pk).order_by("pk")
    )
    return _lock(pk), timers


def _stop_timers(maintenance: Maintenance, *, now: datetime) -> None:
    MaintenanceTimer.objects.filter(maintenance=maintenance, done_at__isnull=True).update(
        done_at=now
    )


def maintenance_cancel(
    *, actor: Actor, maintenance: Maintenance, now: datetime | None = None
) -> Maintenance:
    """Call off a window that has not started (one in progress is completed instead)."""
    require(actor, Action.MANAGE_CATALOG)
    now = now or timezone.now()
    with transaction.atomic():
        maintenance, _ = _lock_with_timers(maintenance)
        if maintenance.status != MaintenanceStatus.SCHEDULED:
            raise ValidationError(
                "Only a maintenance that has not started can be cancelled; "
                "complete one in progress instead."
            )
        _finish(maintenance, MaintenanceStatus.CANCELLED, CANCELLED_TEXT, now=now)
        maintenance_notice(maintenance=maintenance, event=MaintenanceEvent.CANCELLED, now=now)
    return maintenance


def maintenance_complete_now(
    *, actor: Actor, maintenance: Maintenance, now: datetime | None = None
) -> Maintenance:
    """End a window in progress before its scheduled end."""
    require(actor, Action.MANAGE_CATALOG)
    now = now or timezone.now()
    with transaction.atomic():
        maintenance, _ = _lock_with_timers(maintenance)
        if maintenance.status not in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING):
            raise ValidationError("Only a maintenance in progress can be completed.")
        _complete(maintenance, now=now)
    return maintenance


def _finish(
    maintenance: Maintenance, status: MaintenanceStatus, text: str, *, now: datetime
) -> None:
    """Caller holds the maintenance's row lock."""
    maintenance.status = status
    maintenance.updated_at = now
    fields = ["status", "updated_at"]
    if status == MaintenanceStatus.COMPLETED:
        maintenance.completed_at = now
        fields.append("completed_at")
    maintenance.save(update_fields=fields)
    _record(maintenance, status, text, now=now)
    _stop_timers(maintenance, now=now)
    states_recompute(now=now)
    versions.bump()


def _complete(maintenance: Maintenance, *, now: datetime) -> None:
    _finish(maintenance, MaintenanceStatus.COMPLETED, COMPLETED_TEXT, now=now)
    maintenance_notice(maintenance=maintenance, event=MaintenanceEvent.COMPLETED, now=now)


def _start(maintenance: Maintenance, *, now: datetime, notify: bool = True) -> None:
    """Caller holds the maintenance's row lock; it is scheduled. `notify`: tell the
    subscribers it started (not when the window is already over)."""
    maintenance.status = MaintenanceStatus.IN_PROGRESS
    maintenance.started_at = now
    maintenance.updated_at = now
    maintenance.save(update_fields=["status", "started_at", "updated_at"])
    _record(maintenance, MaintenanceStatus.IN_PROGRESS, STARTED_TEXT, now=now)
    if notify:
        maintenance_notice(maintenance=maintenance, event=MaintenanceEvent.STARTED, now=now)
    states_recompute(now=now)
    versions.bump()


def timers_claim(*, now: datetime, limit: int = BATCH) -> list[MaintenanceTimer]:
    """Claim the due timers (unclaimed, or whose lease ran out); each comes back with the
    claim that `timer_fire` must still find."""
    due = MaintenanceTimer.objects.filter(done_at__isnull=True, due_at__lte=now).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE)
    )
    # Most ticks find nothing: one indexed read, no transaction.
    if not due.exists():
        return []
    with transaction.atomic():
        timers = list(due.select_for_update(skip_locked=True).order_by("due_at", "pk")[:limit])
        MaintenanceTimer.objects.filter(pk__in=[t.pk for t in timers]).update(claimed_at=now)
    for timer in timers:
        timer.claimed_at = now
    return timers


def timer_fire(*, timer: MaintenanceTimer, now: datetime) -> bool:
    """Do the timer's step and mark it done, if our claim on it still stands; whether it
    was done by us. The step and `done_at` commit together."""
    with transaction.atomic():
        # All its timers, not just this one: ending stops the others, and a change by hand
        # takes them all first too, so the two wait for each other rather than deadlock.
        maintenance, timers = _lock_with_timers(timer.maintenance_id)
        claimed = next(
            (
                each
                for each in timers
                if each.pk == timer.pk
                and each.claimed_at == timer.claimed_at
                and each.done_at is None
            ),
            None,
        )
        if claimed is None:
            # Another tick took the lease over (and may have done it): not ours to do.
            return False
        # Each step checks the status, so a window cancelled or completed by hand is left be.
        # A timer fired late (the beat was down) still moves the state, but tells no one of
        # what is no longer so: "starts in 60 minutes" once it has started, "started" once
        # it is over (its end timer, due too, tells them it completed).
        if claimed.kind == TimerKind.REMINDER_60:
            if (
                maintenance.status == MaintenanceStatus.SCHEDULED
                and now < maintenance.scheduled_for
            ):
                maintenance_notice(
                    maintenance=maintenance,
                    event=MaintenanceEvent.REMINDER,
                    now=now,
                    occurrence=_reminder_occurrence(maintenance),
                )
        elif claimed.kind == TimerKind.START:
            if maintenance.status == MaintenanceStatus.SCHEDULED:
                _start(maintenance, now=now, notify=now < maintenance.scheduled_until)
        elif maintenance.status in (
            MaintenanceStatus.SCHEDULED,
            MaintenanceStatus.IN_PROGRESS,
            MaintenanceStatus.VERIFYING,
        ):
            # The end comes before the start was done (its worker lost, its lease not yet
            # out): the window is over all the same.
            _complete(maintenance, now=now)
        MaintenanceTimer.objects.filter(pk=claimed.pk).update(done_at=now)
    return True


def _reminder_occurrence(maintenance: Maintenance) -> str:
    """A reminder is of one start time: a window moved after its reminder was sent is
    reminded of again at its new time, once."""
    return f"{maintenance.scheduled_for.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def timers_run(*, now: datetime | None = None) -> int:
    """Fire every due timer; how many fired."""
    now = now or timezone.now()
    return sum(timer_fire(timer=timer, now=now) for timer in timers_claim(now=now))
