"""A duration as the report writes it, in words ("3 h 05 min") or on a clock ("27:03:00"): one
rule for the page, the email, the Markdown, the CSV and the recommendations.

The rule: whole seconds, dropping the fraction (59.6 s is 59 s), and each coarser unit drops
what is left below it (3,599.5 s is 59 min). It is the incident page's rule
(incidents.templatetags.incidents_ui.duration), so an incident's time to resolve reads the same
in the report and on the incident, and a figure is never shown longer than it was measured.
"""

import math
from datetime import timedelta

NOTHING = "—"
# Hours up to two days: "a 24 h target" and "down for 30 h" read better than days.
HOURS_UP_TO = 48


def whole_seconds(seconds: float) -> int:
    """The seconds a duration is shown as: the fraction dropped, towards zero."""
    return math.trunc(seconds)


def duration_text(value: float | timedelta | None, *, missing: str = NOTHING) -> str:
    """ "42 s", "4 min 05 s", "42 min", "1 h 05 min", "3 d 04 h"; `missing` when nothing was
    measured. Precision shrinks as durations grow: nobody acts on the seconds of a two-hour
    outage."""
    if value is None:
        return missing
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    whole = max(whole_seconds(seconds), 0)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 10:
        return f"{minutes} min {rest:02d} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < HOURS_UP_TO:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def target_text(value: timedelta | None, *, missing: str = NOTHING) -> str:
    """A target in its round unit: "15 min", "1 h", "7 d" (not "1 h 00 min")."""
    text = duration_text(value, missing=missing)
    for zero in (" 00 s", " 00 min", " 00 h"):
        text = text.removesuffix(zero)
    return text


def clock_duration(seconds: float | None) -> str:
    """27:03:00 for 27 hours 3 minutes (hours are not wrapped into days); "" when unmeasured."""
    if seconds is None:
        return ""
    whole = whole_seconds(seconds)
    sign = "-" if whole < 0 else ""
    hours, rest = divmod(abs(whole), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}"
