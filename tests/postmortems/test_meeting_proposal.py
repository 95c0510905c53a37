"""When the review meeting is proposed: 14:00 on the third business day after the incident
resolved, in the organisation's zone, whatever the weekend or a DST change do, and never in the
past or at less than a day's notice."""

from datetime import UTC, date, datetime

import pytest

from postmortems.services.meetings import business_days_after, proposed_start


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_business_days_skip_the_weekend():
    friday = date(2026, 3, 6)
    assert business_days_after(friday, 1) == date(2026, 3, 9)
    assert business_days_after(friday, 3) == date(2026, 3, 11)
    assert business_days_after(date(2026, 3, 7), 1) == date(2026, 3, 9)  # from a Saturday
    assert business_days_after(date(2026, 3, 2), 3) == date(2026, 3, 5)  # Monday to Thursday


@pytest.mark.parametrize(
    ("resolved", "expected"),
    [
        # Monday morning: Tuesday, Wednesday, Thursday.
        (utc(2026, 3, 2, 10, 0), utc(2026, 3, 5, 14, 0)),
        # Friday evening: Monday, Tuesday, Wednesday.
        (utc(2026, 3, 6, 17, 0), utc(2026, 3, 11, 14, 0)),
        # Resolved at the weekend: Monday is the first business day after it.
        (utc(2026, 3, 7, 12, 0), utc(2026, 3, 11, 14, 0)),
        (utc(2026, 3, 8, 23, 59), utc(2026, 3, 11, 14, 0)),
        # Wednesday: Thursday, Friday, then Monday.
        (utc(2026, 3, 4, 9, 0), utc(2026, 3, 9, 14, 0)),
    ],
)
def test_the_third_business_day_after_resolution_at_two_in_the_afternoon(
    settings, resolved, expected
):
    settings.ORGANISATION_TIME_ZONE = "UTC"
    assert proposed_start(resolved_at=resolved, now=resolved) == expected


def test_two_in_the_afternoon_is_local_time_after_the_clocks_go_back(settings):
    # Europe/Berlin leaves summer time on Sunday 25 October 2026. Resolved on Thursday the
    # 22nd (CEST): Friday, Monday, Tuesday 27th; 14:00 there is then 13:00 UTC, not 12:00.
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    resolved = utc(2026, 10, 22, 15, 0)

    assert proposed_start(resolved_at=resolved, now=resolved) == utc(2026, 10, 27, 13, 0)


def test_two_in_the_afternoon_is_local_time_before_the_clocks_go_back(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    resolved = utc(2026, 10, 15, 15, 0)  # Thursday: Friday, Monday, Tuesday 20th, CEST

    assert proposed_start(resolved_at=resolved, now=resolved) == utc(2026, 10, 20, 12, 0)


def test_two_in_the_afternoon_is_local_time_after_the_clocks_go_forward(settings):
    # Summer time begins on Sunday 29 March 2026: Tuesday the 31st at 14:00 CEST.
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    resolved = utc(2026, 3, 26, 15, 0)

    assert proposed_start(resolved_at=resolved, now=resolved) == utc(2026, 3, 31, 12, 0)


def test_the_day_of_resolution_is_the_organisations_not_utcs(settings):
    # 23:30 UTC on Sunday 25 October is already 00:30 on Monday in Berlin: the three days
    # are Tuesday to Thursday, not Monday to Wednesday.
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    resolved = utc(2026, 10, 25, 23, 30)

    assert proposed_start(resolved_at=resolved, now=resolved) == utc(2026, 10, 29, 13, 0)


def test_a_west_coast_evening_stays_on_its_own_day(settings):
    # Friday 17:00 in Los Angeles is Saturday 00:00 UTC: still a Friday resolution there.
    settings.ORGANISATION_TIME_ZONE = "America/Los_Angeles"
    resolved = utc(2026, 3, 7, 1, 0)

    # Monday, Tuesday, Wednesday 11 March at 14:00 PDT (summer time began on 8 March).
    assert proposed_start(resolved_at=resolved, now=resolved) == utc(2026, 3, 11, 21, 0)


def test_a_postmortem_drafted_weeks_later_gets_the_next_business_day_a_day_ahead(settings):
    settings.ORGANISATION_TIME_ZONE = "UTC"
    resolved = utc(2026, 3, 2, 10, 0)
    now = utc(2026, 3, 20, 10, 0)  # a Friday: a day ahead is Saturday, so Monday

    assert proposed_start(resolved_at=resolved, now=now) == utc(2026, 3, 23, 14, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Wednesday morning: Thursday 14:00 is more than a day away and stays.
        (utc(2026, 3, 4, 9, 0), utc(2026, 3, 5, 14, 0)),
        # Wednesday afternoon: Thursday 14:00 is under a day away, so Friday.
        (utc(2026, 3, 4, 16, 0), utc(2026, 3, 6, 14, 0)),
        # Thursday morning, before the meeting would be: Friday too.
        (utc(2026, 3, 5, 13, 0), utc(2026, 3, 6, 14, 0)),
    ],
)
def test_a_proposal_is_never_less_than_a_day_away(settings, now, expected):
    settings.ORGANISATION_TIME_ZONE = "UTC"
    resolved = utc(2026, 3, 2, 10, 0)  # the third business day is Thursday 5th at 14:00

    assert proposed_start(resolved_at=resolved, now=now) == expected
