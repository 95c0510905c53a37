"""On-call shifts as an RFC 5545 calendar feed that people subscribe to from their calendar app."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event, vText

from oncall.schedules import Shift

PRODID = "-//Tocsin//On call//EN"


def shift_uid(shift: Shift, *, uid_prefix: str) -> str:
    # Derived from the shift, never random: a calendar app re-fetching the feed must see the same
    # UID for the same shift, or it shows duplicates and drops its own reminders.
    return f"{uid_prefix}-{shift.user_id}-{shift.start.astimezone(UTC):%Y%m%dT%H%M%SZ}@tocsin"


def render_calendar(
    *,
    name: str,
    shifts: Sequence[Shift],
    uid_prefix: str,
    describe: Callable[[Shift], str],
    now: datetime | None = None,
) -> bytes:
    """`now` is the DTSTAMP of every event (default: the current time)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    # Wrapped in vText explicitly: icalendar types NAME and X-WR-CALNAME as unknown values and
    # would write a team name's commas, semicolons and newlines unescaped.
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    for shift in shifts:
        calendar.add_component(
            Event.new(
                uid=shift_uid(shift, uid_prefix=uid_prefix),
                start=shift.start.astimezone(UTC),
                end=shift.end.astimezone(UTC),
                summary=describe(shift),
                stamp=stamp,
            )
        )
    body: bytes = calendar.to_ical()
    return body
