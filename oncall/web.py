"""Web pages for on call: schedules with their two-week calendar, layers and overrides; escalation
policies; the "on call now" box of the home page and the "on call now" section of team pages.

Views parse the request, call a service or a read below, and render. The calendar is laid out in
Python (rows of day cells holding proportional segments) so the template needs neither inline
styles nor scripts under the strict CSP.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.requests import AuthedRequest
from incidents.models import Team
from incidents.permissions import Action, can
from oncall import schedules, selectors, services
from oncall.forms import (
    WEEKDAYS,
    LayerForm,
    OverrideForm,
    PolicyForm,
    ScheduleForm,
    level_formset,
)
from oncall.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    ShiftLength,
    TargetKind,
)
from ops.forms import add_service_errors
from ops.timestamps import plan_time_error

CALENDAR_DAYS = 14
# Segments are sized in half hours: fine enough for a handoff at 09:30, few enough CSS classes.
SLOT = timedelta(minutes=30)
# A calendar page loads the overrides touching its window and those of the next three months,
# so "on call now", "next" and the list of upcoming overrides come from the same read.
HORIZON = schedules.NEXT_SHIFT_HORIZON
TONES = 8


ShiftLink = Callable[[schedules.Shift], str]


def feed_url(route: str, token: str) -> str:
    return f"{settings.BASE_URL}{reverse(route, kwargs={'token': token})}"


# --- The two-week calendar -------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of one day cell: someone's shift cut to the day, or a gap where nobody is."""

    start: datetime
    end: datetime
    user: User | None
    shift: schedules.Shift | None  # the whole piece this segment was cut from
    weight: int  # in half hours, for the width
    link: str = ""  # "take this shift", on the final row
    shows_start: bool = False  # the shift starts inside the day: say when

    @property
    def continues_before(self) -> bool:
        return self.shift is not None and self.shift.start < self.start

    @property
    def continues_after(self) -> bool:
        return self.shift is not None and self.shift.end > self.end

    @property
    def tone(self) -> int:
        return self.user.pk % TONES if self.user is not None else 0


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime
    end: datetime
    is_today: bool


@dataclass(frozen=True)
class Cell:
    day: Day
    segments: list[Segment]


@dataclass(frozen=True)
class Row:
    key: str  # "layer-<id>", "overrides" or "final": what the tests and the CSS pick rows by
    label: str
    note: str
    cells: list[Cell]


@dataclass(frozen=True)
class Week:
    days: list[Day]
    rows: list[Row]


@dataclass(frozen=True)
class Calendar:
    start: date
    end: date  # inclusive: the last day shown
    zone: str
    weeks: list[Week]
    previous: date
    following: date


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def calendar_start(raw: str | None, *, zone: ZoneInfo, now: datetime) -> date:
    """The first day shown: `?start=YYYY-MM-DD`, else this week's Monday in the viewer's zone."""
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is not None and 2000 <= day.year <= 2100:
            return day
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday())


def _slots(span: timedelta) -> int:
    return round(span / SLOT)


def _cut(
    pieces: Sequence[schedules.Shift],
    day: Day,
    users: dict[int, User],
    link: ShiftLink | None = None,
) -> Cell:
    """The day's segments, gaps included, so each cell's segments fill it in proportion.
    Precondition: `pieces` are sorted and disjoint."""
    segments: list[Segment] = []
    cursor = day.start
    for piece in pieces:
        if piece.end <= day.start or piece.start >= day.end:
            continue
        start, end = max(piece.start, day.start), min(piece.end, day.end)
        if start > cursor and _slots(start - cursor):
            segments.append(Segment(cursor, start, None, None, _slots(start - cursor)))
        segments.append(
            Segment(
                start,
                end,
                users.get(piece.user_id),
                piece,
                max(1, _slots(end - start)),
                link(piece) if link is not None else "",
                shows_start=piece.start > day.start,
            )
        )
        cursor = end
    if cursor < day.end and _slots(day.end - cursor):
        segments.append(Segment(cursor, day.end, None, None, _slots(day.end - cursor)))
    return Cell(day, segments)


def _layer_note(layer: ScheduleLayer) -> str:
    parts = [f"level {layer.level}"]
    if layer.starts_at is not None:
        parts.append(f"from {date_format(timezone.localtime(layer.starts_at), 'j M H:i')}")
    if layer.ends_at is not None:
        parts.append(f"until {date_format(timezone.localtime(layer.ends_at), 'j M H:i')}")
    return " · ".join(parts)


def build_calendar(
    loaded: selectors.LoadedSchedule,
    *,
    first: date,
    zone: ZoneInfo,
    now: datetime,
    take_link: ShiftLink | None = None,
) -> Calendar:
    """Two weeks from `first` in the viewer's `zone`: a row per layer meeting the window, the
    overrides, and the final schedule. `take_link(shift)` gives a final shift's link."""
    days = [first + timedelta(days=offset) for offset in range(CALENDAR_DAYS + 1)]
    bounds = [_midnight(day, zone) for day in days]
    today = now.astimezone(zone).date()
    all_days = [Day(day, bounds[i], bounds[i + 1], day == today) for i, day in enumerate(days[:-1])]
    start, end = bounds[0], bounds[-1]

    spec = loaded.spec
    rows: list[tuple[str, str, str, list[schedules.Shift], ShiftLink | None]] = []
    for layer, layer_spec in zip(loaded.layers, spec.layers, strict=True):
        pieces = schedules.layer_shifts(layer_spec, start, end)
        active_until = layer.ends_at is None or layer.ends_at > start
        if pieces or (active_until and layer_spec.active_from < end):
            rows.append((f"layer-{layer.pk}", layer.name, _layer_note(layer), pieces, None))
    # Overrides only, resolved as the final schedule resolves them (the latest wins).
    only_overrides = schedules.ScheduleSpec(
        id=spec.id, time_zone=spec.time_zone, layers=(), overrides=spec.overrides
    )
    rows.append(("overrides", "Overrides", "", schedules.shifts(only_overrides, start, end), None))
    rows.append(
        ("final", "On call", "final schedule", schedules.shifts(spec, start, end), take_link)
    )

    weeks = []
    for week in range(CALENDAR_DAYS // 7):
        week_days = all_days[week * 7 : week * 7 + 7]
        weeks.append(
            Week(
                days=week_days,
                rows=[
                    Row(key, label, note, [_cut(pieces, d, loaded.users, link) for d in week_days])
                    for key, label, note, pieces, link in rows
                ],
            )
        )
    return Calendar(
        start=first,
        end=days[-2],
        zone=str(zone),
        weeks=weeks,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
    )


# --- Schedules -----------------------------------------------------------------------------


def _require_manager(request: AuthedRequest) -> None:
    # The services check again; this only answers 403 before a form is shown.
    if not can(request.user, Action.MANAGE_ONCALL):
        raise PermissionDenied("You may not change schedules or escalation policies.")


def _schedule_or_404(pk: int) -> Schedule:
    try:
        return Schedule.objects.select_related("team").get(pk=pk)
    except Schedule.DoesNotExist as exc:
        raise Http404("No such schedule.") from exc


def _form_status(form: forms.BaseForm) -> int:
    return 400 if form.is_bound else 200


@login_required
def schedule_list(request: AuthedRequest) -> HttpResponse:
    feed = services.calendar_feed_get_or_create(user=request.user)
    return render(
        request,
        "oncall/schedule_list.html",
        {
            "rows": selectors.on_call_everywhere(timezone.now()),
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
            "my_feed_url": feed_url("oncall-web:user-feed", feed.token),
        },
    )


@login_required
def schedule_create(request: AuthedRequest) -> HttpResponse:
    _require_manager(request)
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": timezone.get_current_timezone_name()},
    )
    if form.is_valid():
        try:
            schedule = services.schedule_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} created. Add a rotation to it.")
            return redirect("oncall-web:schedule-detail", pk=schedule.pk)
    return render(request, "oncall/schedule_form.html", {"form": form}, status=_form_status(form))


@login_required
def schedule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    schedule = _schedule_or_404(pk)
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        initial={
            "team": schedule.team,
            "name": schedule.name,
            "time_zone": schedule.time_zone,
            "description": schedule.description,
        },
    )
    if form.is_valid():
        try:
            services.schedule_update(actor=request.user, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} saved.")
            return redirect("oncall-web:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_form.html",
        {"form": form, "schedule": schedule},
        status=_form_status(form),
    )


@login_required
@require_POST
def schedule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    schedule = _schedule_or_404(pk)
    try:
        services.schedule_delete(actor=request.user, schedule=schedule)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("oncall-web:schedule-detail", pk=pk)
    messages.success(request, f"Schedule {schedule.name} deleted.")
    return redirect("oncall-web:schedule-list")


@dataclass(frozen=True)
class LayerView:
    layer: ScheduleLayer
    people: list[User]
    length: str
    windows: list[str]


def _describe_length(layer: ScheduleLayer) -> str:
    if layer.shift_length == ShiftLength.HOURS:
        return f"Every {layer.shift_hours} hours"
    return str(ShiftLength(layer.shift_length).label)


def _describe_window(window: dict[str, Any]) -> str:
    names = dict(WEEKDAYS)
    days = [int(day) for day in window.get("weekdays", [])]
    on = ", ".join(names[str(day)] for day in days) if days else "Every day"
    return f"{on} {window['start']} to {window['end']}"


def _take_url(schedule: Schedule, user: User, now: datetime, *, cover: bool = False) -> ShiftLink:
    base = reverse("oncall-web:override-create", kwargs={"pk": schedule.pk})

    def link(shift: schedules.Shift) -> str:
        if shift.end <= now:
            return ""
        query = {
            # A shift under way is taken from now on: its past stays as it was.
            "start": max(shift.start, now.replace(second=0, microsecond=0)).isoformat(),
            "end": shift.end.isoformat(),
        }
        if not cover:
            query["user"] = str(user.pk)
        return f"{base}?{urlencode(query)}"

    return link


def _my_next_shift(
    spec: schedules.ScheduleSpec, user: User, now: datetime
) -> schedules.Shift | None:
    """The viewer's current or next stretch on call here, whole across seams."""
    found: schedules.Shift | None = None
    for piece in schedules.shifts(spec, now, now + HORIZON):
        if found is not None:
            if piece.start == found.end and piece.user_id == user.pk:
                found = schedules.Shift(user.pk, found.start, piece.end, None)
                continue
            break
        if piece.user_id == user.pk:
            found = piece
    return found


@login_required
@require_GET
def schedule_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    now = timezone.now()
    zone = ZoneInfo(timezone.get_current_timezone_name())
    first = calendar_start(request.GET.get("start"), zone=zone, now=now)
    window_start = min(_midnight(first, zone), now)
    window_end = max(_midnight(first + timedelta(days=CALENDAR_DAYS), zone), now + HORIZON)
    (loaded,) = selectors.schedules_loaded(
        Schedule.objects.filter(pk=schedule.pk), start=window_start, end=window_end
    )
    user = request.user
    may_override = selectors.can_override(user, schedule)
    calendar = build_calendar(
        loaded,
        first=first,
        zone=zone,
        now=now,
        take_link=_take_url(schedule, user, now) if may_override else None,
    )
    mine = _my_next_shift(loaded.spec, user, now) if may_override else None
    layers = [
        LayerView(
            layer=layer,
            people=[p.user for p in layer.participants.all()],
            length=_describe_length(layer),
            windows=[_describe_window(w) for w in layer.restrictions],
        )
        for layer in loaded.layers
        if layer.ends_at is None or layer.ends_at > now
    ]
    can_manage = can(user, Action.MANAGE_ONCALL)
    upcoming = [
        (o, can_manage or o.created_by_id == user.pk) for o in loaded.overrides if o.end > now
    ]
    context = {
        "schedule": loaded.schedule,
        "on_call": selectors.on_call_now(loaded, now),
        "calendar": calendar,
        "layers": layers,
        "overrides": upcoming,
        "can_manage": can_manage,
        "can_override": may_override,
        "cover_url": _take_url(schedule, user, now, cover=True)(mine) if mine else "",
        "my_shift": mine,
        "feed_url": feed_url("oncall-web:schedule-feed", schedule.feed_token),
        "today": now.astimezone(zone).date(),
    }
    return render(request, "oncall/schedule_detail.html", context)


def _layer_or_404(schedule: Schedule, layer_id: int) -> ScheduleLayer:
    try:
        return ScheduleLayer.objects.prefetch_related("participants").get(
            pk=layer_id, schedule=schedule
        )
    except ScheduleLayer.DoesNotExist as exc:
        raise Http404("No such layer.") from exc


def _default_handoff(zone_name: str) -> datetime:
    """Next Monday 09:00 in the schedule's zone, as a wall time: a common weekly handoff."""
    today = timezone.now().astimezone(ZoneInfo(zone_name)).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime.combine(monday, time(9))


@login_required
def layer_create(request: AuthedRequest, pk: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    _require_manager(request)
    form = LayerForm(
        request.POST if request.method == "POST" else None,
        initial={
            "time_zone": schedule.time_zone,
            "rotation_start": _default_handoff(schedule.time_zone),
        },
    )
    if form.is_valid():
        try:
            services.layer_create(actor=request.user, schedule=schedule, spec=form.spec())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Layer {form.cleaned_data['name']} added.")
            return redirect("oncall-web:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_layer_form.html",
        {"form": form, "schedule": schedule, "people": form.people},
        status=_form_status(form),
    )


@login_required
def layer_change(request: AuthedRequest, pk: int, layer_id: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    layer = _layer_or_404(schedule, layer_id)
    _require_manager(request)
    form = LayerForm.for_layer(layer, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.layer_change(
                actor=request.user,
                layer=layer,
                spec=form.spec(),
                effective_at=form.cleaned_data.get("effective_at"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Layer {form.cleaned_data['name']} changed.")
            return redirect("oncall-web:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_layer_form.html",
        {"form": form, "schedule": schedule, "layer": layer, "people": form.people},
        status=_form_status(form),
    )


@login_required
@require_POST
def layer_end(request: AuthedRequest, pk: int, layer_id: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    layer = _layer_or_404(schedule, layer_id)
    services.layer_end(actor=request.user, layer=layer)
    messages.success(request, f"Layer {layer.name} ended: it puts nobody on call from now on.")
    return redirect("oncall-web:schedule-detail", pk=schedule.pk)


def _aware(raw: str | None) -> datetime | None:
    """A link's start or end for the override form; None unless it is an aware time in the
    window (a hand-made year-1 link would overflow where the form shows it)."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None or plan_time_error(moment):
        return None
    return moment


def _week_of(moment: datetime) -> str:
    day = timezone.localtime(moment).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@login_required
def override_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "Take this shift" and "cover for me" arrive here with the shift's span in the query."""
    schedule = _schedule_or_404(pk)
    if not selectors.can_override(request.user, schedule):
        raise PermissionDenied("You may not change who is on call on this schedule.")
    initial: dict[str, Any] = {
        "start": _aware(request.GET.get("start")),
        "end": _aware(request.GET.get("end")),
    }
    if request.GET.get("user", "").isdigit():
        initial["user"] = int(request.GET["user"])
    elif "start" not in request.GET:
        initial["user"] = request.user.pk
    covering = "start" in request.GET and "user" not in request.GET
    if covering:
        initial["note"] = f"Covering for {request.user.display_name}"
    form = OverrideForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        try:
            override = services.override_create(
                actor=request.user,
                schedule=schedule,
                user=data["user"],
                start=data["start"],
                end=data["end"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{override.user.display_name} is on call for that span.")
            url = reverse("oncall-web:schedule-detail", kwargs={"pk": schedule.pk})
            return redirect(f"{url}?start={_week_of(override.start)}")
    return render(
        request,
        "oncall/schedule_override_form.html",
        {"form": form, "schedule": schedule, "covering": covering},
        status=_form_status(form),
    )


@login_required
@require_POST
def override_delete(request: AuthedRequest, pk: int, override_id: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    try:
        override = ScheduleOverride.objects.select_related("user").get(
            pk=override_id, schedule=schedule
        )
    except ScheduleOverride.DoesNotExist as exc:
        raise Http404("No such override.") from exc
    services.override_delete(actor=request.user, override=override)
    messages.success(request, f"Override of {override.user.display_name} removed.")
    return redirect("oncall-web:schedule-detail", pk=schedule.pk)


@login_required
@require_POST
def schedule_rotate_feed(request: AuthedRequest, pk: int) -> HttpResponse:
    schedule = _schedule_or_404(pk)
    services.schedule_rotate_feed_token(actor=request.user, schedule=schedule)
    messages.success(request, "New calendar address: calendars using the old one stop updating.")
    return redirect("oncall-web:schedule-detail", pk=schedule.pk)


@login_required
@require_POST
def my_feed_rotate(request: AuthedRequest) -> HttpResponse:
    services.calendar_feed_rotate(user=request.user)
    messages.success(request, "New address for your calendar feed: the old one stops working.")
    return redirect("oncall-web:schedule-list")


@login_required
@require_GET
def oncall_now(request: AuthedRequest) -> HttpResponse:
    """The home page's "on call now" box, which it loads with htmx: incidents stays unaware of
    on call, and the incident list's own queries stay its own."""
    return render(
        request, "oncall/_oncall_now.html", {"rows": selectors.on_call_everywhere(timezone.now())}
    )


def _team_or_404(slug: str) -> Team:
    try:
        return Team.objects.get(slug=slug)
    except Team.DoesNotExist as exc:
        raise Http404("No such team.") from exc


@login_required
@require_GET
def team_oncall(request: AuthedRequest, slug: str) -> HttpResponse:
    """A team page's "on call now" section: its schedules and escalation policies. The team page
    loads it with htmx, as the home page loads oncall_now; without JavaScript the page's link
    opens it as a page of its own."""
    on_call = selectors.team_on_call(team=_team_or_404(slug), now=timezone.now())
    # A history restore after a cache miss needs the whole page, not the fragment.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "oncall/_team_oncall.html" if partial else "oncall/team_oncall.html"
    response = render(request, template, {"on_call": on_call})
    # The same URL answers with a fragment or a page, so caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Escalation policies -------------------------------------------------------------------


POLICY_PREFETCH = (
    Prefetch(
        "levels",
        queryset=EscalationLevel.objects.prefetch_related(
            Prefetch(
                "targets",
                queryset=EscalationTarget.objects.select_related(
                    "user", "schedule__team", "team"
                ).order_by("pk"),
            )
        ),
    ),
    "integrations__team",
)


@dataclass(frozen=True)
class LevelView:
    level: EscalationLevel
    minutes: int
    targets: list[str] = field(default_factory=list)


def describe_target(target: EscalationTarget) -> str:
    if target.kind == TargetKind.USER and target.user is not None:
        return target.user.display_name
    if target.kind == TargetKind.SCHEDULE and target.schedule is not None:
        return f"On call in {target.schedule.name} ({target.schedule.team.name})"
    if target.kind == TargetKind.TEAM_LEADS and target.team is not None:
        return f"Leads of {target.team.name}"
    return "Nobody"


def _level_views(levels: Iterable[EscalationLevel]) -> list[LevelView]:
    return [
        LevelView(
            level=level,
            minutes=int(level.delay.total_seconds() // 60),
            targets=[describe_target(t) for t in level.targets.all()],
        )
        for level in levels
    ]


def _policy_or_404(pk: int) -> EscalationPolicy:
    try:
        return (
            EscalationPolicy.objects.select_related("team")
            .prefetch_related(*POLICY_PREFETCH)
            .get(pk=pk)
        )
    except EscalationPolicy.DoesNotExist as exc:
        raise Http404("No such escalation policy.") from exc


@login_required
@require_GET
def policy_list(request: AuthedRequest) -> HttpResponse:
    policies = EscalationPolicy.objects.select_related("team").prefetch_related(*POLICY_PREFETCH)
    return render(
        request,
        "oncall/policy_list.html",
        {
            "rows": [(p, _level_views(p.levels.all())) for p in policies],
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
        },
    )


@login_required
@require_GET
def policy_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    policy = _policy_or_404(pk)
    return render(
        request,
        "oncall/policy_detail.html",
        {
            "policy": policy,
            "levels": _level_views(policy.levels.all()),
            "integrations": list(policy.integrations.all()),
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
        },
    )


def _policy_form(request: AuthedRequest, policy: EscalationPolicy | None) -> HttpResponse:
    _require_manager(request)
    data = request.POST if request.method == "POST" else None
    form = PolicyForm.for_policy(policy, data) if policy is not None else PolicyForm(data)
    levels = level_formset(data, levels=list(policy.levels.all()) if policy else None)
    if form.is_valid() and levels.is_valid():
        try:
            saved = services.policy_save(
                actor=request.user,
                levels=levels.specs(),
                policy=policy,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Escalation policy {saved.name} saved.")
            return redirect("oncall-web:policy-detail", pk=saved.pk)
    return render(
        request,
        "oncall/policy_form.html",
        {"form": form, "levels": levels, "policy": policy},
        status=_form_status(form),
    )


@login_required
def policy_create(request: AuthedRequest) -> HttpResponse:
    return _policy_form(request, None)


@login_required
def policy_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    return _policy_form(request, _policy_or_404(pk))


@login_required
@require_POST
def policy_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    policy = _policy_or_404(pk)
    try:
        services.policy_delete(actor=request.user, policy=policy)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("oncall-web:policy-detail", pk=pk)
    messages.success(request, f"Escalation policy {policy.name} deleted.")
    return redirect("oncall-web:policy-list")
