"""Schedules: the list with your calendar feed, a schedule's page with its two-week calendar,
creating, editing and deleting schedules, and their feeds' secret addresses.

Views parse the request, call a service or a read, and render; oncall.calendar_layout lays out the
calendar.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.requests import AuthedRequest
from incidents.permissions import Action, can, require
from oncall import schedules, selectors
from oncall.calendar_layout import (
    CALENDAR_DAYS,
    ShiftLink,
    build_calendar,
    calendar_start,
    midnight,
)
from oncall.forms import WEEKDAYS, ScheduleForm
from oncall.models import CalendarFeed, Schedule, ScheduleLayer
from oncall.schedules import ShiftLength
from oncall.services import calendar_feeds, rotations
from oncall.views.common import form_status, schedule_or_404
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors

# A calendar page loads the overrides touching its window and those of the next three months,
# so "on call now", "next" and the list of upcoming overrides come from the same read.
HORIZON = schedules.NEXT_SHIFT_HORIZON


def feed_url(route: str, token: str) -> str:
    return f"{settings.BASE_URL}{reverse(route, kwargs={'token': token})}"


@login_required
@require_GET
def schedule_list(request: AuthedRequest) -> HttpResponse:
    # A GET writes nothing: the feed's secret is made when its owner asks for it (my_feed_create).
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return render(
        request,
        "oncall/schedule_list.html",
        {
            "rows": selectors.on_call_everywhere(timezone.now()),
            "can_manage": can(request.user, Action.MANAGE_ONCALL),
            "my_feed_url": feed_url("oncall:user-feed", feed.token) if feed else "",
        },
    )


@login_required
@require_POST
def my_feed_create(request: AuthedRequest) -> HttpResponse:
    calendar_feeds.calendar_feed_get_or_create(user=request.user)
    return redirect(reverse("oncall:schedule-list") + "#my-feed-title")


@login_required
@require_POST
def my_feed_rotate(request: AuthedRequest) -> HttpResponse:
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question="Give your calendar feed a new address?",
                consequence=(
                    "The current address stops working at once: calendars subscribed to it "
                    "stop showing your shifts until you subscribe them to the new one. The old "
                    "address cannot be brought back."
                ),
                action="Make a new address",
                cancel_url=reverse("oncall:schedule-list") + "#my-feed-title",
            ),
        )
    calendar_feeds.calendar_feed_rotate(user=request.user)
    messages.success(request, "New address for your calendar feed: the old one stops working.")
    return redirect("oncall:schedule-list")


@login_required
def schedule_create(request: AuthedRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        initial={"time_zone": timezone.get_current_timezone_name()},
    )
    if form.is_valid():
        try:
            schedule = rotations.schedule_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} created. Add a rotation to it.")
            return redirect("oncall:schedule-detail", pk=schedule.pk)
    return render(request, "oncall/schedule_form.html", {"form": form}, status=form_status(form))


@login_required
def schedule_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    schedule = schedule_or_404(pk)
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
            rotations.schedule_update(actor=request.user, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} saved.")
            return redirect("oncall:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_form.html",
        {"form": form, "schedule": schedule},
        status=form_status(form),
    )


@login_required
@require_POST
def schedule_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    schedule = schedule_or_404(pk)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Delete the schedule {schedule.name}?",
                consequence=(
                    "Its layers, overrides and calendar feed are deleted with it. "
                    "This cannot be undone."
                ),
                action="Delete schedule",
                cancel_url=reverse("oncall:schedule-detail", args=[schedule.pk]),
            ),
        )
    try:
        rotations.schedule_delete(actor=request.user, schedule=schedule)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("oncall:schedule-detail", pk=pk)
    messages.success(request, f"Schedule {schedule.name} deleted.")
    return redirect("oncall:schedule-list")


@login_required
@require_POST
def schedule_rotate_feed(request: AuthedRequest, pk: int) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    schedule = schedule_or_404(pk)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Give the calendar feed of {schedule.name} a new address?",
                consequence=(
                    "Calendars subscribed to the current address stop updating at once; "
                    "everyone who uses it must subscribe to the new one. The old address "
                    "cannot be brought back."
                ),
                action="Make a new address",
                cancel_url=reverse("oncall:schedule-detail", args=[schedule.pk]) + "#feed",
            ),
        )
    calendar_feeds.schedule_rotate_feed_token(actor=request.user, schedule=schedule)
    messages.success(request, "New calendar address: calendars using the old one stop updating.")
    return redirect("oncall:schedule-detail", pk=schedule.pk)


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
    base = reverse("oncall:override-create", kwargs={"pk": schedule.pk})

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
    schedule = schedule_or_404(pk)
    now = timezone.now()
    zone = ZoneInfo(timezone.get_current_timezone_name())
    first = calendar_start(request.GET.get("start"), zone=zone, now=now)
    window_start = min(midnight(first, zone), now)
    window_end = max(midnight(first + timedelta(days=CALENDAR_DAYS), zone), now + HORIZON)
    (loaded,) = selectors.schedules_loaded(
        Schedule.objects.filter(pk=schedule.pk), start=window_start, end=window_end
    )
    user = request.user
    # The predicates the services check: the page only hides what they would refuse.
    may_override = selectors.can_override(user, schedule)
    can_manage = can(user, Action.MANAGE_ONCALL)
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
    upcoming = [
        (o, selectors.may_change_override(user, o)) for o in loaded.overrides if o.end > now
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
        "feed_url": feed_url("oncall:schedule-feed", schedule.feed_token),
        "today": now.astimezone(zone).date(),
    }
    return render(request, "oncall/schedule_detail.html", context)
