"""`date` and `time` as Django's own, except that a stored time the viewer's zone cannot hold
(year 1 seen from west of UTC, year 9999 from east of it) is shown in UTC instead of failing
the whole page.

Installed as a template builtin (settings.TEMPLATES), so it replaces Django's filters of the same
names in every template. Django's are marked `expects_localtime`, which converts the value before
the filter runs, where no filter can catch the overflow; these convert it themselves.
"""

from datetime import datetime
from typing import Any

from django import template
from django.template import defaultfilters

from ops.timestamps import in_zone

register = template.Library()


def _local(value: Any) -> Any:
    return in_zone(value) if isinstance(value, datetime) else value


@register.filter(expects_localtime=False, is_safe=False)
def date(value: Any, arg: str | None = None) -> str:
    return defaultfilters.date(_local(value), arg)


@register.filter(expects_localtime=False, is_safe=False)
def time(value: Any, arg: str | None = None) -> str:
    return defaultfilters.time(_local(value), arg)
