"""Writes to schedules: the schedule itself, its rotations (layers) and its overrides.

Named rotations, not schedules, so that it does not shadow oncall.schedules, the pure
computation of who is on call that these rows feed.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from accounts.actors import Actor, SystemActor, actor_user
from accounts.models import User
from incidents.models import Team
from incidents.permissions import Action, require
from oncall import selectors
from oncall.models import (
    EscalationTarget,
    LayerParticipant,
    Notification,
    NotificationKind,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from oncall.schedules import ShiftLength, shifts
from oncall.services.base import clock
from oncall.texts import override_notice
from ops.text import shown
from ops.timestamps import plan_time_error, zone_named

logger = logging.getLogger(__name__)


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
    *, actor: Actor, team: Team, name: str, time_zone: str = "UTC", description: str = ""
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
    logger.info("schedule %s created by %s", schedule.pk, actor.display_name)
    return schedule


def schedule_update(
    *,
    actor: Actor,
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
    logger.info("schedule %s updated by %s", schedule.pk, actor.display_name)
    return schedule


def schedule_delete(*, actor: Actor, schedule: Schedule) -> None:
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
    logger.info("schedule %s (%s) deleted by %s", pk, schedule.name, actor.display_name)


@dataclass(frozen=True)
class LayerSpec:
    """What a layer is made of, as forms and the API give it."""

    name: str
    participants: list[User]
    rotation_start: datetime
    shift_length: ShiftLength = ShiftLength.WEEKLY
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
    # One by one, not bulk_create(), which sends no signal: the audit trail records each.
    # A rotation has a handful of people.
    for position, user in enumerate(spec.participants):
        LayerParticipant.objects.create(layer=layer, user=user, position=position)
    return layer


def layer_create(*, actor: Actor, schedule: Schedule, spec: LayerSpec) -> ScheduleLayer:
    require(actor, Action.MANAGE_ONCALL)
    spec = _clean_layer(spec)
    with transaction.atomic():
        return _write_layer(schedule, spec, starts_at=None)


def layer_change(
    *,
    actor: Actor,
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


def layer_end(*, actor: Actor, layer: ScheduleLayer, effective_at: datetime | None = None) -> None:
    require(actor, Action.MANAGE_ONCALL)
    effective_at = effective_at or clock()
    with transaction.atomic():
        # Locked and re-read, as layer_change does: a layer already ended (a second click,
        # a change meanwhile) keeps its end, which ending it again would move later.
        locked = ScheduleLayer.objects.select_for_update().filter(pk=layer.pk).first()
        if locked is None or (locked.ends_at is not None and locked.ends_at <= effective_at):
            return
        locked.ends_at = effective_at
        locked.save(update_fields=["ends_at"])


def override_create(
    *,
    actor: Actor,
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
    if not isinstance(actor, SystemActor) and not selectors.can_override(actor, schedule):
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
            schedule=schedule,
            user=user,
            start=start,
            end=end,
            note=note,
            created_by=actor_user(actor),
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
        actor.display_name,
    )
    return override


def _override_notices(
    override: ScheduleOverride, *, replaced: list[int], actor: Actor, now: datetime
) -> None:
    """Notices, due now, to `user` and to the people whose on-call time the override takes;
    the tick hands them out like any other notification."""
    recipients = {*replaced, override.user_id} - {actor.pk}
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


def override_delete(*, actor: Actor, override: ScheduleOverride) -> None:
    person = actor_user(actor)
    if person is not None and not selectors.may_change_override(person, override):
        raise PermissionDenied(
            "You may only change your own overrides, unless you manage the schedules."
        )
    override.delete()
