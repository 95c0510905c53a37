"""The times Tocsin accepts, and showing stored times without overflowing.

One window for every time that comes in, whatever the intake (webhooks, API, forms, query
parameters):

- nothing before EARLIEST (2000-01-01 UTC): no incident, alert or shift of this product is
  older, and year-1 or year-9999 values overflow `datetime` as soon as they are shown in a zone
  on the far side of UTC;
- events (an alert's start or end, an incident's start of impact) not after now + CLOCK_SKEW:
  they have happened; a little skew is allowed for a client's clock running ahead of ours;
- plans (an override, a rotation's first handoff, the instant or window asked of a schedule) not
  after now + PLAN_AHEAD: a rota is planned months ahead, never decades.

People and API clients get a validation error naming the field. Machine sources (Alertmanager,
the Events API) get their times clamped instead (`clamp_event_time`): a 4xx would make the
source drop the whole delivery, valid alerts included, and so lose a page.
"""

import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
PLAN_AHEAD = timedelta(days=3 * 366)


def _shown(moment: datetime) -> str:
    # In UTC: the value itself may not fit in the viewer's zone.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


FUTURE_EVENT = "Cannot be in the future."


def event_time_error(
    value: datetime, *, now: datetime | None = None, future_message: str = FUTURE_EVENT
) -> str:
    """Why `value` cannot be when something happened; empty when it can."""
    latest = (now or timezone.now()) + CLOCK_SKEW
    if value < EARLIEST:
        return f"Give a time from {_shown(EARLIEST)} on."
    if value > latest:
        return future_message
    return ""


def plan_time_error(value: datetime, *, now: datetime | None = None) -> str:
    """Why `value` cannot be a time of a schedule or an override; empty when it can."""
    latest = (now or timezone.now()) + PLAN_AHEAD
    if value < EARLIEST:
        return f"Give a time from {_shown(EARLIEST)} on."
    if value > latest:
        return f"Give a time before {_shown(latest)}: plan at most three years ahead."
    return ""


@deconstructible
class EventTimeValidator:
    """For form and serializer fields: a time something happened, in the window above."""

    def __init__(self, future_message: str = FUTURE_EVENT) -> None:
        self.future_message = future_message

    def __call__(self, value: datetime) -> None:
        error = event_time_error(value, future_message=self.future_message)
        if error:
            raise ValidationError(error, code="out_of_range")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventTimeValidator) and other.future_message == self.future_message


@deconstructible
class PlanTimeValidator:
    """For form and serializer fields: a time of a schedule or override, in the window above."""

    def __call__(self, value: datetime) -> None:
        error = plan_time_error(value)
        if error:
            raise ValidationError(error, code="out_of_range")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlanTimeValidator)


validate_event_time = EventTimeValidator()
validate_plan_time = PlanTimeValidator()


def clamp_event_time(value: datetime, *, now: datetime) -> datetime:
    """A machine source's event time, made plausible: never after `now` (the receive time),
    and `now` itself when it is before EARLIEST (we know no better than "when it reached us").

    Capping at the receive time matters beyond display: deliveries are ordered by these times,
    and one far-future time would make every later delivery of that alert look older, and be
    dropped. A source whose clock runs ahead is ordered by when its deliveries arrive.
    """
    if value > now or value < EARLIEST:
        return now
    return value


def in_zone(value: datetime, zone: tzinfo | None = None) -> datetime:
    """`value` in the viewer's zone (`zone`, else the active one) for display; in UTC when the
    zone would take it past year 1 or 9999. Stored times are in the window above, but rows
    written before it existed (or by hand) must not break every page that shows them."""
    if timezone.is_naive(value):
        return value
    try:
        return value.astimezone(zone or timezone.get_current_timezone())
    except OverflowError:
        return value.astimezone(UTC)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone of that name, or None for anything else a client may send: a directory
    ("America"), a name too long for the file system, a NUL, a path. Looked up among the known
    names first, so no input reaches the file system."""
    if name not in _zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


class ViewerDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, whose answers never fail on a stored time the viewer's zone cannot
    hold (DRF's own turns that into a 400 for the whole list): those are given in UTC."""

    def to_representation(self, value: Any) -> Any:
        if not isinstance(value, datetime) or timezone.is_naive(value):
            return super().to_representation(value)
        output_format = getattr(self, "format", api_settings.DATETIME_FORMAT)
        if output_format is None:
            return value
        zone = self.timezone if hasattr(self, "timezone") else self.default_timezone()
        shown = in_zone(value, zone)
        if output_format.lower() != ISO_8601:
            return shown.strftime(output_format)
        text = shown.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
