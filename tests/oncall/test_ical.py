"""The on-call iCal feed, read back with icalendar as a calendar app would read it."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from oncall.ical import render_calendar
from oncall.schedules import Shift

ALICE, BOB = 1, 2
NAMES = {ALICE: "Alice", BOB: "Bob"}

WEEK_ONE = Shift(
    user_id=ALICE,
    start=datetime(2024, 1, 1, 9, tzinfo=UTC),
    end=datetime(2024, 1, 8, 9, tzinfo=UTC),
    layer_id=1,
)
WEEK_TWO = Shift(
    user_id=BOB,
    start=datetime(2024, 1, 8, 9, tzinfo=UTC),
    end=datetime(2024, 1, 15, 9, tzinfo=UTC),
    layer_id=1,
)
RENDERED_AT = datetime(2024, 1, 3, 12, 30, tzinfo=UTC)


def describe(shift: Shift) -> str:
    return f"{NAMES[shift.user_id]} on call"


def render(
    shifts: list[Shift],
    *,
    name: str = "Payments primary",
    describe: Callable[[Shift], str] = describe,
    now: datetime = RENDERED_AT,
) -> bytes:
    return render_calendar(
        name=name, shifts=shifts, uid_prefix="schedule-7", describe=describe, now=now
    )


def events(body: bytes) -> list[Event]:
    return Calendar.from_ical(body).events


def unescaped(value: object) -> str:
    # icalendar reads X-WR-CALNAME and NAME back as unknown values, verbatim; undo RFC 5545
    # TEXT escaping as a calendar app would.
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], str(value))


def test_calendar_names_its_producer_and_version() -> None:
    calendar = Calendar.from_ical(render([WEEK_ONE]))
    assert str(calendar["PRODID"]) == "-//Tocsin//On call//EN"
    assert str(calendar["VERSION"]) == "2.0"


def test_calendar_carries_its_display_name() -> None:
    calendar = Calendar.from_ical(render([WEEK_ONE], name="Payments primary"))
    assert unescaped(calendar["X-WR-CALNAME"]) == "Payments primary"
    assert unescaped(calendar["NAME"]) == "Payments primary"


def test_one_event_per_shift_in_order() -> None:
    found = events(render([WEEK_ONE, WEEK_TWO]))
    assert [str(event["SUMMARY"]) for event in found] == ["Alice on call", "Bob on call"]


def test_event_times_are_the_shift_in_utc() -> None:
    (event,) = events(render([WEEK_ONE]))
    assert event.start == datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert event.end == datetime(2024, 1, 8, 9, tzinfo=UTC)
    assert isinstance(event.start, datetime)
    assert event.start.utcoffset() == timedelta(0)


def test_event_times_are_written_in_z_form() -> None:
    body = render([WEEK_ONE])
    assert b"DTSTART:20240101T090000Z\r\n" in body
    assert b"DTEND:20240108T090000Z\r\n" in body
    assert b"TZID" not in body


def test_shift_given_in_another_zone_is_written_in_utc() -> None:
    chicago = Shift(
        user_id=ALICE,
        start=datetime(2024, 7, 1, 9, tzinfo=ZoneInfo("America/Chicago")),  # 14:00 UTC
        end=datetime(2024, 7, 2, 9, tzinfo=ZoneInfo("America/Chicago")),
        layer_id=1,
    )
    body = render([chicago])
    assert b"DTSTART:20240701T140000Z\r\n" in body
    assert b"UID:schedule-7-1-20240701T140000Z@tocsin\r\n" in body


def test_uid_is_prefix_user_and_utc_start() -> None:
    (event,) = events(render([WEEK_TWO]))
    assert str(event["UID"]) == "schedule-7-2-20240108T090000Z@tocsin"


def test_uids_are_stable_across_renders() -> None:
    first = events(render([WEEK_ONE, WEEK_TWO], now=datetime(2024, 1, 3, tzinfo=UTC)))
    again = events(render([WEEK_ONE, WEEK_TWO], now=datetime(2024, 1, 4, tzinfo=UTC)))
    assert [str(event["UID"]) for event in first] == [
        "schedule-7-1-20240101T090000Z@tocsin",
        "schedule-7-2-20240108T090000Z@tocsin",
    ]
    assert [str(event["UID"]) for event in again] == [str(event["UID"]) for event in first]


def test_dtstamp_is_the_render_time_in_utc() -> None:
    (event,) = events(render([WEEK_ONE]))
    assert event.DTSTAMP == RENDERED_AT
    assert b"DTSTAMP:20240103T123000Z\r\n" in render([WEEK_ONE])


def test_dtstamp_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    body = render_calendar(
        name="Payments primary", shifts=[WEEK_ONE], uid_prefix="schedule-7", describe=describe
    )
    (event,) = events(body)
    assert before <= event.DTSTAMP <= datetime.now(UTC)


def test_summary_commas_semicolons_and_newlines_are_escaped() -> None:
    body = render([WEEK_ONE], describe=lambda shift: "Smith, Alice; primary\nsecond line")
    assert b"SUMMARY:Smith\\, Alice\\; primary\\nsecond line\r\n" in body
    (event,) = events(body)
    assert str(event["SUMMARY"]) == "Smith, Alice; primary\nsecond line"


def test_calendar_name_commas_semicolons_and_newlines_are_escaped() -> None:
    body = render([WEEK_ONE], name="Payments, EU; primary\nnights")
    assert b"X-WR-CALNAME:Payments\\, EU\\; primary\\nnights\r\n" in body
    assert unescaped(Calendar.from_ical(body)["X-WR-CALNAME"]) == "Payments, EU; primary\nnights"


def test_empty_schedule_renders_a_calendar_without_events() -> None:
    body = render([])
    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert events(body) == []
