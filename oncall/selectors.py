"""Reads for on call: schedules as the pure computation's input, and who gets paged."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, Prefetch, Q, QuerySet, Window

from accounts.models import User
from incidents.models import Incident, Paging, Team
from incidents.selectors import incidents_visible_to
from oncall import policy_resolvers, schedules
from oncall.models import (
    ContactKind,
    ContactMethod,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationState,
    EscalationTarget,
    LayerParticipant,
    Notification,
    NotificationKind,
    NotificationRule,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    TargetKind,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

# What a severity must say for declaring an incident of it to page anyone on its own.
PAGING_SEVERITIES = (Paging.ONCALL, Paging.ONCALL_AND_MANAGEMENT)

# The channels a notice (not a page) may go by, in the order tried: a call reading out a
# change of rota at 3 a.m. would be a page in all but name.
NOTICE_CHANNELS = (ContactKind.EMAIL, ContactKind.SLACK, ContactKind.SMS, ContactKind.WEBHOOK)

# How far back and ahead overrides are loaded for a schedule read: enough for the two-week
# calendar and for "next" on the schedule page; the iCal feed asks for its own window.
_OVERRIDE_MARGIN = timedelta(days=1)
# How far ahead "on call until" and "who is next" look.
HORIZON = schedules.NEXT_SHIFT_HORIZON


def _restriction(raw: dict[str, object]) -> schedules.Restriction:
    weekdays = raw.get("weekdays") or []
    if not isinstance(weekdays, list):
        raise ValueError(f"restriction weekdays must be a list, not {weekdays!r}")
    return schedules.Restriction(
        start=time.fromisoformat(str(raw["start"])),
        end=time.fromisoformat(str(raw["end"])),
        weekdays=frozenset(int(day) for day in weekdays),
    )


def layer_spec(layer: ScheduleLayer) -> schedules.Layer:
    """Caller prefetched `participants`."""
    return schedules.Layer(
        id=layer.pk,
        level=layer.level,
        participants=tuple(p.user_id for p in layer.participants.all()),
        rotation_start=layer.rotation_start,
        shift_length=schedules.ShiftLength(layer.shift_length),
        time_zone=layer.time_zone,
        shift_hours=layer.shift_hours,
        restrictions=tuple(_restriction(raw) for raw in layer.restrictions),
        starts_at=layer.starts_at,
        ends_at=layer.ends_at,
    )


def schedule_spec(schedule: Schedule, *, start: datetime, end: datetime) -> schedules.ScheduleSpec:
    """The schedule as the pure functions take it, with the overrides touching [start, end)."""
    layers = ScheduleLayer.objects.filter(schedule=schedule).prefetch_related("participants")
    overrides = ScheduleOverride.objects.filter(
        schedule=schedule, end__gt=start - _OVERRIDE_MARGIN, start__lt=end + _OVERRIDE_MARGIN
    )
    return _spec(schedule, layers, overrides)


def _spec(
    schedule: Schedule, layers: Iterable[ScheduleLayer], overrides: Iterable[ScheduleOverride]
) -> schedules.ScheduleSpec:
    return schedules.ScheduleSpec(
        id=schedule.pk,
        time_zone=schedule.time_zone,
        layers=tuple(layer_spec(layer) for layer in layers),
        overrides=tuple(
            schedules.Override(id=o.pk, user_id=o.user_id, start=o.start, end=o.end)
            for o in overrides
        ),
    )


def can_override(user: User, schedule: Schedule) -> bool:
    """Who may put someone on call on `schedule` for a span: a manager or an admin on any
    schedule, a responder on their own teams' schedules and on those whose rotations they
    take part in (a shift swapped with someone of another team)."""
    if not (user.is_active and user.can_respond):
        return False
    if user.can_manage:
        return True
    return (
        user.teams.filter(pk=schedule.team_id).exists()
        or LayerParticipant.objects.filter(layer__schedule=schedule, user=user).exists()
    )


def may_change_override(user: User, override: ScheduleOverride) -> bool:
    """Who may remove an override: the person who added it, or a manager or an admin, who run
    the schedules. The service enforces it; the schedule page shows Remove to them alone."""
    if not user.is_active:
        return False
    return user.pk == override.created_by_id or user.can_manage


def notice_methods(user_ids: Iterable[int]) -> dict[int, ContactMethod]:
    """Each person's contact method for a notice: the first of NOTICE_CHANNELS they have
    verified and not disabled. People with none are left out."""
    methods = ContactMethod.objects.filter(
        user_id__in=list(user_ids),
        kind__in=NOTICE_CHANNELS,
        verified_at__isnull=False,
        disabled_at__isnull=True,
        removed_at__isnull=True,
    )
    chosen: dict[int, ContactMethod] = {}
    for method in sorted(methods, key=lambda m: (NOTICE_CHANNELS.index(m.kind), m.pk)):
        chosen.setdefault(method.user_id, method)
    return chosen


def schedule_on_call_user_id(schedule: Schedule, *, at: datetime) -> int | None:
    return schedules.who_is_on_call(schedule_spec(schedule, start=at, end=at), at)


@dataclass(frozen=True)
class LoadedSchedule:
    """A schedule with its layers, participants and the overrides of a window, as one read."""

    schedule: Schedule
    layers: list[ScheduleLayer]
    overrides: list[ScheduleOverride]
    spec: schedules.ScheduleSpec
    users: dict[int, User]


def schedules_loaded(
    queryset: QuerySet[Schedule], *, start: datetime, end: datetime
) -> list[LoadedSchedule]:
    """Every schedule of `queryset` with what the pure functions need for [start, end), in four
    queries however many schedules, layers and overrides there are. Layers that ended before
    `start` are left out: they put nobody on call in the window."""
    layers = ScheduleLayer.objects.filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=start)
    ).prefetch_related(
        Prefetch("participants", queryset=LayerParticipant.objects.select_related("user"))
    )
    overrides = ScheduleOverride.objects.filter(end__gt=start, start__lt=end).select_related(
        "user", "created_by"
    )
    rows = queryset.select_related("team").prefetch_related(
        Prefetch("layers", queryset=layers), Prefetch("overrides", queryset=overrides)
    )
    loaded: list[LoadedSchedule] = []
    for schedule in rows:
        schedule_layers = list(schedule.layers.all())
        schedule_overrides = list(schedule.overrides.all())
        users = {p.user_id: p.user for layer in schedule_layers for p in layer.participants.all()}
        users.update({o.user_id: o.user for o in schedule_overrides})
        spec = _spec(schedule, schedule_layers, schedule_overrides)
        loaded.append(LoadedSchedule(schedule, schedule_layers, schedule_overrides, spec, users))
    return loaded


def on_call_run(
    spec: schedules.ScheduleSpec, at: datetime, *, horizon: timedelta = HORIZON
) -> tuple[int | None, datetime | None]:
    """Who is on call at `at`, and until when they stay on (across layer and override seams):
    None when nobody is, or when they stay on past `horizon`."""
    user_id = schedules.who_is_on_call(spec, at)
    if user_id is None:
        return None, None
    # Most runs end within a week: look there first, as next_shift does.
    for look in (min(schedules.NEXT_SHIFT_FIRST_LOOK, horizon), horizon):
        limit = at + look
        end = at
        for piece in schedules.shifts(spec, at, limit):
            if piece.start != end or piece.user_id != user_id:
                break
            end = piece.end
        if end < limit:
            return user_id, end
    return user_id, None


@dataclass(frozen=True)
class OnCall:
    schedule: Schedule
    user: User | None
    until: datetime | None
    next_shift: schedules.Shift | None
    next_user: User | None


def on_call_now(loaded: LoadedSchedule, now: datetime) -> OnCall:
    """Caller loaded overrides from `now` to `now` + HORIZON."""
    user_id, until = on_call_run(loaded.spec, now)
    upcoming = schedules.next_shift(loaded.spec, now)
    return OnCall(
        schedule=loaded.schedule,
        user=loaded.users.get(user_id) if user_id is not None else None,
        until=until,
        next_shift=upcoming,
        next_user=loaded.users.get(upcoming.user_id) if upcoming is not None else None,
    )


def on_call_everywhere(now: datetime) -> list[OnCall]:
    """Who is on call now and next in every schedule, in a constant number of queries."""
    loaded = schedules_loaded(Schedule.objects.all(), start=now, end=now + HORIZON)
    return [on_call_now(item, now) for item in loaded]


@dataclass(frozen=True)
class TeamOnCall:
    team: Team
    schedules: list[OnCall]  # one per schedule of the team, by name
    policies: list[EscalationPolicy]


def team_on_call(*, team: Team, now: datetime) -> TeamOnCall:
    """Who is on call now and next in each of the team's schedules, and the team's escalation
    policies, in five queries however many schedules, layers and overrides there are."""
    loaded = schedules_loaded(Schedule.objects.filter(team=team), start=now, end=now + HORIZON)
    return TeamOnCall(
        team=team,
        schedules=[on_call_now(item, now) for item in loaded],
        policies=list(EscalationPolicy.objects.filter(team=team).order_by("name")),
    )


def severity_pages(*, incident_id: int) -> bool:
    """Whether the incident's severity pages on its own (`Severity.paging`)."""
    return Incident.objects.filter(pk=incident_id, severity__paging__in=PAGING_SEVERITIES).exists()


def policy_for_incident(incident: Incident) -> EscalationPolicy | None:
    """The policy a registered resolver names (alerts: the integration's, for alert-born
    incidents), else the team's, else the default."""
    resolved = policy_resolvers.resolved_policy_id(incident)
    if resolved is not None:
        return EscalationPolicy.objects.get(pk=resolved)
    if incident.team_id is not None:
        policy = team_policy(incident.team_id)
        if policy is not None:
            return policy
    return EscalationPolicy.objects.filter(is_default=True).first()


def pageable_teams() -> list[Team]:
    """Teams a policy pages, by name: the others have nobody to page."""
    return list(Team.objects.filter(escalation_policies__isnull=False).distinct().order_by("name"))


def team_policy(team_id: int) -> EscalationPolicy | None:
    """The policy that pages a team: the one its incidents use (the first by name)."""
    return EscalationPolicy.objects.filter(team_id=team_id).first()


def policy_levels(policy: EscalationPolicy) -> list[EscalationLevel]:
    return list(
        policy.levels.prefetch_related(
            Prefetch("targets", queryset=EscalationTarget.objects.select_related("schedule"))
        )
    )


def level_users(
    level: EscalationLevel, *, at: datetime, on_call: dict[int, int | None] | None = None
) -> list[User]:
    """Everyone a level pages at `at`, once each, in the order the targets list them.

    `on_call` remembers who each schedule has on call at `at`, for a caller reading many
    levels at one instant (the tick: a burst's escalations mostly page the same schedules).
    """
    on_call = {} if on_call is None else on_call
    user_ids: list[int] = []
    for target in level.targets.all():
        if target.kind == TargetKind.USER and target.user_id is not None:
            user_ids.append(target.user_id)
        elif target.kind == TargetKind.SCHEDULE and target.schedule is not None:
            schedule = target.schedule
            if schedule.pk not in on_call:
                on_call[schedule.pk] = schedule_on_call_user_id(schedule, at=at)
            user_id = on_call[schedule.pk]
            if user_id is not None:
                user_ids.append(user_id)
        elif target.kind == TargetKind.TEAM_LEADS and target.team_id is not None:
            user_ids.extend(
                User.objects.filter(led_teams=target.team_id).values_list("pk", flat=True)
            )
    unique = list(dict.fromkeys(user_ids))
    found = User.objects.in_bulk(unique)
    return [found[pk] for pk in unique if pk in found and found[pk].is_active]


def unreachable(user_ids: Iterable[int]) -> set[int]:
    """Those of `user_ids` with no contact method a page can use (verified, not disabled):
    a policy may name them, but paging them reaches nobody."""
    wanted = set(user_ids)
    if not wanted:
        return set()
    reachable = ContactMethod.objects.filter(
        user_id__in=wanted, verified_at__isnull=False, disabled_at__isnull=True
    ).values_list("user_id", flat=True)
    return wanted - set(reachable)


def paging_steps(users: Iterable[User]) -> dict[int, list[NotificationRule]]:
    """Each person's notification rules over usable contact methods, by user id.

    Someone without rules is paged on every usable method at once: better a noisy page than
    a silent one.
    """
    user_ids = [user.pk for user in users]
    usable = Q(contact_method__verified_at__isnull=False, contact_method__disabled_at__isnull=True)
    rules = NotificationRule.objects.filter(usable, user_id__in=user_ids).select_related(
        "contact_method"
    )
    steps: dict[int, list[NotificationRule]] = {pk: [] for pk in user_ids}
    for rule in rules:
        steps[rule.user_id].append(rule)
    missing = [pk for pk, found in steps.items() if not found]
    if missing:
        methods = ContactMethod.objects.filter(
            user_id__in=missing, verified_at__isnull=False, disabled_at__isnull=True
        )
        for method in methods:
            steps[method.user_id].append(
                NotificationRule(user_id=method.user_id, contact_method=method)
            )
    return steps


class LevelCount(TypedDict):
    level_count: int  # how many levels the escalation's policy has


class Total(TypedDict):
    total: int  # how many pages the incident has, however many were loaded


if TYPE_CHECKING:
    CountedEscalation = WithAnnotations[Escalation, LevelCount]
    CountedPage = WithAnnotations[Notification, Total]
else:
    # At run time the aliases cannot be subscripted (they are for the type checker alone).
    CountedEscalation = Escalation
    CountedPage = Notification


def incident_escalation(incident: Incident) -> CountedEscalation | None:
    """The incident's escalation with its policy, annotated `level_count`. One query."""
    return (
        Escalation.objects.filter(incident_id=incident.pk)
        .select_related("policy")
        .annotate(level_count=Count("policy__levels"))
        .first()
    )


def incident_pages(incident: Incident, *, limit: int) -> list[CountedPage]:
    """The incident's newest pages, oldest first, each annotated `total`. One query."""
    pages: list[CountedPage] = list(
        Notification.objects.filter(incident_id=incident.pk, kind=NotificationKind.PAGE)
        .select_related("user", "contact_method")
        .annotate(total=Window(Count("id")))
        .order_by("-due_at", "-id")[:limit]
    )
    pages.reverse()
    return pages


def escalate_level_index(
    escalation: Escalation | None, *, acknowledged: bool, level_count: int
) -> int | None:
    """The level (0-based) the incident page's "Escalate" pages now, or None when there is
    none left.

    Before an acknowledgement it is the level the running policy pages next, or level 1 of a
    new run when nothing runs. After one the policy does not run on its own again (someone is
    on it), and Escalate pages the level after the last one paged, once, until every level
    was.
    """
    if escalation is None or escalation.policy_id is None:
        return 0
    if not acknowledged:
        return escalation.level_index if escalation.state == EscalationState.ACTIVE else 0
    if escalation.state == EscalationState.EXHAUSTED:
        return None
    return escalation.level_index if escalation.level_index < level_count else None


def incident_for_paging_state(*, user: User, number: int) -> Incident:
    """The incident with that number if `user` may see it, with what the paging panel's state
    shows of it (its severity) and nothing more: one query, for the panel's polling.
    Incident.DoesNotExist otherwise."""
    return incidents_visible_to(user).select_related("severity").get(number=number)
