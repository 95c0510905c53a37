"""Small display helpers for the incident pages: durations, ages, severity classes."""

from datetime import datetime, timedelta

from django import template
from django.contrib.humanize.templatetags.humanize import naturalday
from django.utils import timezone

from incidents.models import Severity
from ops.timestamps import in_zone

register = template.Library()

# Severity badges come in four colours; ranks past the playbook's four share the calmest one.
SEVERITY_CLASSES = 4


@register.filter
def duration(value: timedelta | None) -> str:
    """A short human duration: "40 s", "12 min", "3 h 5 min", "24 h", "2 d 4 h"."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    # Hours up to two days: "a 24 h target" and "down for 30 h" read better than days.
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def since(value: datetime | None) -> str:
    """Time elapsed from `value` until now, as a short duration."""
    return "" if value is None else duration(timezone.now() - value)


@register.filter
def age(value: datetime | None) -> str:
    """How long ago: a duration within the last day, the viewer's day name after that."""
    if value is None:
        return ""
    elapsed = timezone.now() - value
    if elapsed < timedelta(minutes=1):
        return "just now"
    if elapsed < timedelta(days=1):
        return f"{duration(elapsed)} ago"
    # naturalday compares calendar days, so give it the viewer's local time (UTC when the
    # viewer's zone cannot hold it: a year-1 time seen from west of UTC).
    return str(naturalday(in_zone(value), "j M Y"))


@register.filter
def severity_class(severity: Severity | None) -> str:
    if severity is None:
        return "sev-unknown"
    return f"sev-{min(max(severity.rank, 1), SEVERITY_CLASSES)}"
