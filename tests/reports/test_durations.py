"""One rule for every duration the report shows (reports.durations): the fraction of a second
dropped, and each coarser unit dropping what is left below it, on the page, in the email, the
Markdown, the CSV and the recommendations alike."""

from datetime import timedelta

import pytest

from reports.durations import clock_duration, duration_text, target_text
from reports.export import clock_duration as export_clock
from reports.templatetags.reports_ui import human_duration


@pytest.mark.parametrize(
    ("seconds", "text", "clock"),
    [
        (0, "0 s", "00:00:00"),
        (59.4, "59 s", "00:00:59"),
        (59.5, "59 s", "00:00:59"),  # no rounding half up, nor to even
        (59.6, "59 s", "00:00:59"),  # as the incident page says it (incidents_ui.duration)
        (60, "1 min 00 s", "00:01:00"),
        (245, "4 min 05 s", "00:04:05"),
        (599.9, "9 min 59 s", "00:09:59"),
        (2520, "42 min", "00:42:00"),
        (3599.5, "59 min", "00:59:59"),
        (3600, "1 h 00 min", "01:00:00"),
        (3900, "1 h 05 min", "01:05:00"),
        (86_400, "24 h 00 min", "24:00:00"),
        (86_400.5, "24 h 00 min", "24:00:00"),
        (48 * 3600 - 0.5, "47 h 59 min", "47:59:59"),
        (48 * 3600, "2 d 00 h", "48:00:00"),
        (3 * 86400 + 4 * 3600 + 3599, "3 d 04 h", "76:59:59"),
    ],
)
def test_every_duration_follows_one_rule(seconds, text, clock):
    assert duration_text(seconds) == text
    assert duration_text(timedelta(seconds=seconds)) == text
    assert human_duration(seconds) == text.replace(" ", "\N{NO-BREAK SPACE}")
    assert clock_duration(seconds) == clock
    assert export_clock(seconds) == clock


def test_nothing_measured_is_a_dash_or_what_the_caller_says():
    assert duration_text(None) == "—"
    assert duration_text(None, missing="n/a") == "n/a"
    assert clock_duration(None) == ""


def test_a_negative_duration_is_nothing_in_words_and_signed_on_a_clock():
    assert duration_text(-5) == "0 s"
    assert clock_duration(-300.5) == "-00:05:00"


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (timedelta(minutes=15), "15 min"),
        (timedelta(minutes=5), "5 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=4, minutes=30), "4 h 30 min"),
        (timedelta(days=7), "7 d"),
        (None, "—"),
    ],
)
def test_a_target_reads_in_its_round_unit(target, text):
    assert target_text(target) == text
