"""iCal feeds of on-call shifts: a schedule's final shifts, and one person's across every schedule.

Calendar apps cannot sign in, so the token in the address is the secret: anyone holding it may
read the feed, and rotating it (on the schedules pages) revokes every copy.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from icalendar import Calendar

from accounts.models import User
from oncall import schedules, selectors
from oncall.ical import render_calendar
from oncall.models import CalendarFeed, Schedule
from oncall.selectors import schedules_loaded
from ops.text import is_storable

BACK = timedelta(days=7)
AHEAD = timedelta(days=180)
# Shifts are laid out from further back than the feed shows, and those over before it dropped:
# the first shown keeps its true start, and so the same UID on every fetch (UIDs are built from
# the start). A shift longer than this margin still gets its start cut.
LOOK_BEHIND = timedelta(days=35)
CONTENT_TYPE = "text/calendar; charset=utf-8"


def _window(now: datetime) -> tuple[datetime, datetime, datetime]:
    """(where to lay shifts out from, the first instant shown, the end)."""
    shown = now - BACK
    return shown - LOOK_BEHIND, shown, now + AHEAD


def _visible(pieces: Sequence[schedules.Shift], shown: datetime) -> list[schedules.Shift]:
    return [piece for piece in pieces if piece.end > shown]


def _answer(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{name}.ics"'
    # Calendar apps poll; a few minutes' staleness is fine, and a shared cache must not keep it.
    response["Cache-Control"] = "private, max-age=300"
    return response


def _known_token(token: str) -> str:
    """The token if it could be one of ours; 404 otherwise, before it reaches a query (a
    `%00` in the address would make PostgreSQL refuse the query, so a 500)."""
    if not token.isascii() or not is_storable(token):
        raise Http404("No such calendar.")
    return token


@require_GET
def schedule_feed(request: HttpRequest, token: str) -> HttpResponse:
    token = _known_token(token)
    schedule = Schedule.objects.select_related("team").filter(feed_token=token).first()
    if schedule is None:
        raise Http404("No such calendar.")
    start, shown, end = _window(timezone.now())
    spec = selectors.schedule_spec(schedule, start=start, end=end)
    pieces = _visible(schedules.shifts(spec, start, end), shown)
    people = User.objects.in_bulk({piece.user_id for piece in pieces})
    body = render_calendar(
        name=f"{schedule.name} ({schedule.team.name}) on call",
        shifts=pieces,
        uid_prefix=f"schedule-{schedule.pk}",
        describe=lambda shift: f"{_name(people.get(shift.user_id))} on call: {schedule.name}",
    )
    return _answer(body, f"schedule-{schedule.pk}")


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "Someone"


def _own_shift_title(schedule: Schedule) -> Callable[[schedules.Shift], str]:
    title = f"On call: {schedule.name} ({schedule.team.name})"
    return lambda _shift: title


@require_GET
def user_feed(request: HttpRequest, token: str) -> HttpResponse:
    token = _known_token(token)
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404("No such calendar.")
    user = feed.user
    start, shown, end = _window(timezone.now())
    calendar = Calendar.from_ical(
        render_calendar(
            name=f"{user.display_name} on call",
            shifts=[],
            uid_prefix="",
            describe=str,
        )
    )
    # Each schedule renders with its own UID prefix, so a person on call in two schedules from
    # the same instant gets two events, not one UID twice.
    for loaded in schedules_loaded(Schedule.objects.all(), start=start, end=end):
        mine = [
            piece
            for piece in _visible(schedules.shifts(loaded.spec, start, end), shown)
            if piece.user_id == user.pk
        ]
        if not mine:
            continue
        schedule = loaded.schedule
        part = Calendar.from_ical(
            render_calendar(
                name=schedule.name,
                shifts=mine,
                uid_prefix=f"schedule-{schedule.pk}",
                describe=_own_shift_title(schedule),
            )
        )
        for event in part.walk("VEVENT"):
            calendar.add_component(event)
    return _answer(calendar.to_ical(), f"{user.username}-on-call")
