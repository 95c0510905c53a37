from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents.models import Severity
from incidents.templatetags.incidents_ui import age, duration, severity_class


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(hours=24), "24 h"),
        (timedelta(days=2, hours=4), "2 d 4 h"),
        (timedelta(days=3), "3 d"),
        (timedelta(seconds=-5), "0 s"),
        (None, ""),
    ],
)
def test_duration_reads_as_a_short_human_span(value, text):
    assert duration(value) == text


def test_age_of_a_recent_moment_is_a_duration():
    assert age(timezone.now() - timedelta(minutes=12, seconds=3)) == "12 min ago"


def test_age_of_the_last_minute_is_just_now():
    assert age(timezone.now() - timedelta(seconds=20)) == "just now"


def test_age_of_an_older_moment_is_its_day_in_the_viewers_zone():
    moment = datetime(2025, 1, 15, 23, 30, tzinfo=UTC)

    with timezone.override("Asia/Tokyo"):
        assert age(moment) == "16 Jan 2025"


@pytest.mark.parametrize(("rank", "css"), [(1, "sev-1"), (4, "sev-4"), (7, "sev-4")])
def test_severity_class_follows_rank_and_caps_at_four(rank, css):
    assert severity_class(Severity(rank=rank)) == css
