"""The 90-day uptime bars from state spans (statuspage.uptime)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from statuspage.models import ComponentState
from statuspage.uptime import DAYS, components_uptime, duration_shown, percent_shown
from tests.statuspage.sppage_fixtures import component, spans

OPERATIONAL = ComponentState.OPERATIONAL
MAJOR = ComponentState.MAJOR_OUTAGE
PARTIAL = ComponentState.PARTIAL_OUTAGE
DEGRADED = ComponentState.DEGRADED_PERFORMANCE
MAINTENANCE = ComponentState.UNDER_MAINTENANCE

# Noon on 10 March 2026 (UTC); the page counts days in UTC unless a test says otherwise.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=200)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("utc_page"),
]


@pytest.fixture
def utc_page():
    with override_settings(STATUSPAGE_TIME_ZONE="UTC"):
        yield


def at(day: int, hour: float = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def bar(made, now=NOW):
    return components_uptime([made], now=now)[made.pk]


def test_the_bar_has_ninety_days_ending_today() -> None:
    days = bar(component("api", created_at=LONG_AGO)).days
    assert len(days) == DAYS
    assert days[-1].date == NOW.date()
    assert days[0].date == NOW.date() - timedelta(days=89)


def test_a_day_all_operational_is_fully_up() -> None:
    uptime = bar(component("api", created_at=LONG_AGO))
    assert all(day.uptime == 1 for day in uptime.days)
    assert uptime.fraction == 1
    assert uptime.days[-1].worst == OPERATIONAL


def test_a_major_outage_counts_as_down_for_its_share_of_the_day() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        (MAJOR, at(8, 6)),
        (OPERATIONAL, at(8, 12)),
    )
    day = bar(made).days[-3]
    assert day.date == at(8).date()
    assert day.uptime == pytest.approx(0.75)
    assert day.worst == MAJOR
    assert day.incidents == [(MAJOR, 6 * 3600)]


def test_a_span_crossing_midnight_is_split_between_the_two_days() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        (MAJOR, at(7, 18)),
        (OPERATIONAL, at(8, 3)),
    )
    days = bar(made).days
    assert days[-4].uptime == pytest.approx(18 / 24)
    assert days[-3].uptime == pytest.approx(21 / 24)
    assert days[-4].worst == days[-3].worst == MAJOR
    assert days[-5].uptime == 1


def test_a_span_over_several_days_downs_each_whole_day_between() -> None:
    made = spans(
        component("api"), (OPERATIONAL, LONG_AGO), (MAJOR, at(5, 12)), (OPERATIONAL, at(8))
    )
    days = bar(made).days
    assert [day.uptime for day in days[-6:-2]] == pytest.approx([0.5, 0, 0, 1])


def test_a_still_open_span_counts_until_now_only() -> None:
    # Down since 06:00 today, and now is noon: half of what today has counted so far.
    made = spans(component("api"), (OPERATIONAL, LONG_AGO), (MAJOR, at(10, 6)))
    uptime = bar(made)
    today = uptime.days[-1]
    assert today.counted == 12 * 3600
    assert today.uptime == pytest.approx(0.5)
    assert uptime.days[-2].uptime == 1


def test_the_future_part_of_today_is_not_counted() -> None:
    uptime = bar(component("api", created_at=LONG_AGO))
    assert uptime.days[-1].counted == 12 * 3600
    assert uptime.days[-2].counted == 24 * 3600


def test_maintenance_weighs_nothing_by_default_and_shows_as_the_worst_state() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        (MAINTENANCE, at(9, 1)),
        (OPERATIONAL, at(9, 3)),
    )
    day = bar(made).days[-2]
    assert day.uptime == 1
    assert day.worst == MAINTENANCE
    assert day.incidents == [(MAINTENANCE, 2 * 3600)]


def test_the_weights_follow_the_setting() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        (PARTIAL, at(9, 0)),
        (DEGRADED, at(9, 12)),
        (OPERATIONAL, at(9, 18)),
    )
    # Statuspage's default: a partial outage counts 30 % down, degraded performance as up.
    assert bar(made).days[-2].uptime == pytest.approx(1 - 12 * 0.3 / 24)
    with override_settings(
        STATUSPAGE_UPTIME_WEIGHTS={"partial_outage": 1, "degraded_performance": 0.5}
    ):
        assert bar(made).days[-2].uptime == pytest.approx(1 - (12 + 6 * 0.5) / 24)
    # A state the setting does not name weighs nothing.
    with override_settings(STATUSPAGE_UPTIME_WEIGHTS={"major_outage": 1}):
        assert bar(made).days[-2].uptime == 1


def test_the_worst_state_of_a_day_wins_whatever_its_length() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        (DEGRADED, at(9, 1)),
        (MAJOR, at(9, 10)),
        (DEGRADED, at(9, 10.1)),
        (OPERATIONAL, at(9, 20)),
    )
    day = bar(made).days[-2]
    assert day.worst == MAJOR
    assert [state for state, _ in day.incidents] == [MAJOR, DEGRADED]


def test_days_before_the_component_existed_have_no_data() -> None:
    made = component("api", created_at=at(8, 12))
    uptime = bar(made)
    assert uptime.days[-4].uptime is None
    assert not uptime.days[-4].has_data
    assert uptime.days[-3].counted == 12 * 3600
    assert uptime.days[-3].uptime == 1
    # Only counted time enters the 90-day figure: two days of perfect record are 100 %.
    assert uptime.fraction == 1


def test_the_ninety_day_figure_weights_by_the_time_counted() -> None:
    made = spans(
        component("api"),
        (OPERATIONAL, at(8)),
        (MAJOR, at(8, 12)),
        (OPERATIONAL, at(9)),
    )
    # 8 March (24 h, 12 h down), 9 March (24 h up), 10 March (12 h so far, up).
    assert bar(made).fraction == pytest.approx(1 - 12 / 60)


def test_spans_outside_the_window_are_left_out() -> None:
    made = spans(
        component("api"),
        (MAJOR, NOW - timedelta(days=150)),
        (OPERATIONAL, NOW - timedelta(days=95)),
    )
    assert bar(made).fraction == 1


@override_settings(STATUSPAGE_TIME_ZONE="Europe/Paris")
def test_days_are_the_page_zones_days_and_a_dst_day_has_23_hours() -> None:
    # Paris moved to summer time on 29 March 2026: that day has 23 hours.
    now = datetime(2026, 3, 30, 22, 30, tzinfo=UTC)  # 00:30 on the 31st in Paris
    made = spans(
        component("api"),
        (OPERATIONAL, LONG_AGO),
        # 23:00 UTC on the 28th is midnight of the 29th in Paris (still winter time).
        (MAJOR, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        (OPERATIONAL, datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),
    )
    days = bar(made, now=now).days
    assert days[-1].date.isoformat() == "2026-03-31"
    assert days[-1].counted == 30 * 60
    dst_day = days[-3]
    assert dst_day.date.isoformat() == "2026-03-29"
    assert dst_day.counted == 23 * 3600
    assert dst_day.uptime == 0
    assert days[-2].uptime == days[-4].uptime == 1


def test_one_query_for_every_components_spans(django_assert_num_queries) -> None:
    made = [component(f"svc-{n}", created_at=LONG_AGO) for n in range(12)]
    for each in made[:6]:
        spans(each, (OPERATIONAL, LONG_AGO), (MAJOR, at(9)), (OPERATIONAL, at(9, 1)))
    with django_assert_num_queries(1):
        bars = components_uptime(made, now=NOW)
    assert bars[made[0].pk].days[-2].worst == MAJOR
    assert bars[made[-1].pk].days[-2].worst == OPERATIONAL


def test_a_component_without_spans_has_no_data() -> None:
    made = component("api", created_at=LONG_AGO)
    made.spans.all().delete()
    uptime = bar(made)
    assert uptime.fraction is None
    assert all(day.uptime is None for day in uptime.days)


def test_percentages_are_rounded_down() -> None:
    assert percent_shown(1) == "100.00"
    assert percent_shown(0.99999) == "99.99"
    assert percent_shown(0.9997) == "99.97"
    assert percent_shown(None) == ""


def test_durations_read_plainly() -> None:
    assert duration_shown(30) == "under a minute"
    assert duration_shown(40 * 60) == "40 min"
    assert duration_shown(2 * 3600 + 5 * 60) == "2 h 5 min"
    assert duration_shown(3 * 3600) == "3 h"
