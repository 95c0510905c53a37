"""ops.timestamps: the one window of plausible times, clamping, and showing any stored time."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import timezone

from ops.timestamps import (
    CLOCK_SKEW,
    EARLIEST,
    PLAN_AHEAD,
    ViewerDateTimeField,
    clamp_event_time,
    event_time_error,
    in_zone,
    plan_time_error,
    validate_event_time,
    validate_plan_time,
    zone_named,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
YEAR_1 = datetime(1, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
FAR_ZONES = ["America/Los_Angeles", "Europe/London", "Asia/Tokyo", "Pacific/Kiritimati"]


@pytest.mark.parametrize("value", [EARLIEST, NOW - timedelta(days=400), NOW + CLOCK_SKEW])
def test_an_event_time_from_2000_to_a_clock_skew_ahead_is_accepted(value):
    assert event_time_error(value, now=NOW) == ""


@pytest.mark.parametrize(
    "value", [YEAR_1, EARLIEST - timedelta(microseconds=1), datetime(1970, 1, 1, tzinfo=UTC)]
)
def test_an_event_time_before_2000_is_refused(value):
    assert "2000-01-01" in event_time_error(value, now=NOW)


@pytest.mark.parametrize("value", [NOW + CLOCK_SKEW + timedelta(seconds=1), YEAR_9999])
def test_an_event_time_in_the_future_is_refused(value):
    assert event_time_error(value, now=NOW) == "Cannot be in the future."


def test_a_plan_may_be_up_to_three_years_ahead_and_no_further():
    assert plan_time_error(NOW + PLAN_AHEAD, now=NOW) == ""
    assert "three years" in plan_time_error(NOW + PLAN_AHEAD + timedelta(seconds=1), now=NOW)
    assert "2000-01-01" in plan_time_error(YEAR_1, now=NOW)


def test_the_validators_raise_for_forms_and_serializers():
    with pytest.raises(ValidationError):
        validate_event_time(YEAR_9999)
    with pytest.raises(ValidationError):
        validate_plan_time(YEAR_1)
    validate_event_time(timezone.now())
    validate_plan_time(timezone.now() + timedelta(days=30))


@pytest.mark.parametrize("value", [YEAR_1, EARLIEST - timedelta(days=1), YEAR_9999])
def test_an_impossible_machine_time_becomes_the_receive_time(value):
    assert clamp_event_time(value, now=NOW) == NOW


def test_a_machine_time_ahead_of_ours_is_capped_at_the_receive_time():
    assert clamp_event_time(NOW + timedelta(seconds=3), now=NOW) == NOW


def test_a_plausible_machine_time_is_kept():
    earlier = NOW - timedelta(minutes=3)
    assert clamp_event_time(earlier, now=NOW) == earlier


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("value", [datetime.min.replace(tzinfo=UTC), YEAR_1, YEAR_9999])
def test_any_stored_time_can_be_shown_in_any_zone(value, zone):
    shown = in_zone(value, ZoneInfo(zone))

    assert shown == value


@pytest.mark.parametrize(
    ("value", "zone"), [(YEAR_1, "America/Los_Angeles"), (YEAR_9999, "Asia/Tokyo")]
)
def test_a_time_past_the_edge_of_the_viewers_zone_is_shown_in_utc(value, zone):
    assert in_zone(value, ZoneInfo(zone)).utcoffset() == timedelta(0)


def test_a_time_the_zone_can_hold_is_shown_in_it():
    shown = in_zone(NOW, ZoneInfo("Asia/Tokyo"))

    assert shown.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("value", [YEAR_1, YEAR_9999])
def test_the_date_and_time_filters_of_every_template_show_edge_times(value, zone):
    template = Template("{{ when|date:'c' }}|{{ when|time:'H:i' }}")

    with timezone.override(ZoneInfo(zone)):
        shown, _ = template.render(Context({"when": value})).split("|")

    assert datetime.fromisoformat(shown) == value


def test_the_date_filter_still_shows_times_in_the_viewers_zone():
    template = Template('{{ when|date:"H:i T" }}')

    with timezone.override(ZoneInfo("Asia/Tokyo")):
        text = template.render(Context({"when": NOW}))

    assert text == "21:00 JST"


@pytest.mark.parametrize("zone", FAR_ZONES)
@pytest.mark.parametrize("value", [YEAR_1, YEAR_9999])
def test_the_api_field_answers_edge_times_in_any_zone(value, zone):
    with timezone.override(ZoneInfo(zone)):
        shown = ViewerDateTimeField().to_representation(value)

    assert datetime.fromisoformat(shown) == value


def test_the_api_field_answers_other_times_in_the_viewers_zone():
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert ViewerDateTimeField().to_representation(NOW) == "2026-12-04T21:00:00+09:00"


@pytest.mark.parametrize(
    "name", ["America", "a" * 300, "Europe/London\x00", "../etc/passwd", "/etc/localtime", ""]
)
def test_a_name_that_is_no_iana_zone_names_no_zone(name):
    assert zone_named(name) is None


def test_an_iana_name_names_its_zone():
    assert zone_named("America/Los_Angeles") == ZoneInfo("America/Los_Angeles")
