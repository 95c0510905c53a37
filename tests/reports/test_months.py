"""A report's month: written YYYY-MM, a calendar month in the organisation's zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.months import Month

NEW_YORK = ZoneInfo("America/New_York")


def test_a_month_is_read_from_yyyy_mm_and_written_back_the_same():
    month = Month.parse("2026-11")

    assert month == Month(2026, 11)
    assert str(month) == "2026-11"
    assert month.label == "November 2026"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-13", "the month is 01 to 12"),
        ("2026-00", "the month is 01 to 12"),
        ("1999-12", "years 2000 to 2100"),
        ("2026-1", "write it as YYYY-MM"),
        ("2026/11", "write it as YYYY-MM"),
        (" 2026-11", "write it as YYYY-MM"),
        ("2026-11 ", "write it as YYYY-MM"),
        ("\u0662\u0660\u0662\u0666-\u0661\u0661", "write it as YYYY-MM"),  # Arabic-Indic digits
        ("", "write it as YYYY-MM"),
    ],
)
def test_anything_else_is_refused_with_what_a_month_looks_like(text, says):
    with pytest.raises(ValueError, match=says):
        Month.parse(text)


def test_previous_next_and_minus_cross_years():
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2026, 11).minus(12) == Month(2025, 11)
    assert Month(2026, 3).minus(14) == Month(2025, 1)


def test_a_month_runs_from_midnight_on_the_1st_in_the_zone_across_a_dst_change():
    november = Month(2026, 11)

    # New York is on daylight time (UTC-4) on 1 November at midnight, standard (UTC-5) after.
    assert november.start(NEW_YORK).astimezone(UTC) == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert november.end(NEW_YORK).astimezone(UTC) == datetime(2026, 12, 1, 5, tzinfo=UTC)


def test_the_month_containing_a_moment_is_the_zones():
    late_on_the_31st = datetime(2026, 11, 1, 3, 30, tzinfo=UTC)  # 23:30 on 31 October there

    assert Month.containing(late_on_the_31st, NEW_YORK) == Month(2026, 10)
    assert Month.containing(late_on_the_31st, ZoneInfo("UTC")) == Month(2026, 11)


def test_as_far_into_last_month_is_the_same_day_and_time_in_the_zone():
    # 5 December 08:30 in New York (13:30 UTC) → 5 November 08:30 there, an hour less into the
    # month than the elapsed time says (summer time ended on 1 November): the calendar counts.
    now = datetime(2026, 12, 5, 13, 30, tzinfo=UTC)

    assert Month(2026, 11).as_far_as(now, NEW_YORK) == datetime(2026, 11, 5, 8, 30, tzinfo=NEW_YORK)


def test_as_far_into_a_shorter_month_is_its_end():
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)

    assert Month(2026, 2).as_far_as(now, UTC) == datetime(2026, 3, 1, tzinfo=UTC)
    assert Month(2026, 1).as_far_as(now, UTC) == datetime(2026, 1, 31, 12, tzinfo=UTC)
