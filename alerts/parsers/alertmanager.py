"""Prometheus Alertmanager's webhook, format version 4.

Strict about what we store, lenient where Alertmanager versions differ: every field we read is
checked and reported by its path (`alerts.0.startsAt`); fields we do not read may be absent.

Times are the exception: an impossible one (year 1 but not Go's zero time, year 9999, or just
a clock running ahead of ours) is clamped into ops.timestamps' window rather than refused.
Alertmanager does not retry a 4xx, so refusing would lose every alert of the delivery, the sound
ones included; and a time after the receive time would make every later delivery of the alert
look older than the one stored, and be dropped (one `endsAt: 9999-…` would silence the alert
for good).
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.utils import timezone

from alerts.models import AlertStatus, Integration
from alerts.parsers.base import AlertEvent, PayloadError
from ops.text import is_storable
from ops.timestamps import clamp_event_time

VERSION = "4"
STATUSES = (AlertStatus.FIRING, AlertStatus.RESOLVED)
MAX_KEY_LENGTH = 255

# RFC 3339 with any count of fractional digits (Alertmanager sends 3, 6 or 9, Go up to 9),
# which datetime.fromisoformat cannot all read.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
# Go's zero time: Alertmanager's "no end" for a firing alert.
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)

# Optional top-level fields we check when present: Alertmanager always sends them, with these
# shapes; the alerts list is what we store.
_STRING_MAPS = ("groupLabels", "commonLabels", "commonAnnotations")
_STRINGS = ("groupKey", "receiver", "externalURL")


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def __contains__(self, path: str) -> bool:
        return path in self.by_field

    def add(self, path: str, message: str) -> None:
        self.by_field.setdefault(path, []).append(message)


def parse(
    payload: Any, *, integration: Integration, received_at: datetime | None = None
) -> list[AlertEvent]:
    """The alert events of one delivery, in payload order; PayloadError if it is not v4.

    `received_at` (default now) caps the alerts' times, as the Events API's are capped.
    """
    received_at = received_at or timezone.now()
    errors = _Errors()
    if not isinstance(payload, dict):
        errors.add("payload", "Expected a JSON object (an Alertmanager webhook, version 4).")
        raise _failure(errors)
    version = payload.get("version")
    if version != VERSION:
        errors.add("version", f'Expected "{VERSION}", got {_shown(version)}.')
    _check_envelope(payload, errors)
    alerts = payload.get("alerts")
    events: list[AlertEvent] = []
    if not isinstance(alerts, list):
        errors.add("alerts", "Expected a list of alerts." if "alerts" in payload else "Required.")
    else:
        for index, alert in enumerate(alerts):
            event = _event(alert, f"alerts.{index}", errors, received_at)
            if event is not None:
                events.append(event)
    if errors.by_field:
        raise _failure(errors)
    return events


def _failure(errors: _Errors) -> PayloadError:
    count = len(errors.by_field)
    return PayloadError(
        f"Not an Alertmanager webhook (version {VERSION}): "
        f"{count} invalid field{'s' if count != 1 else ''}.",
        errors.by_field,
    )


def _check_envelope(payload: Mapping[str, Any], errors: _Errors) -> None:
    status = payload.get("status")
    if status is not None and status not in STATUSES:
        errors.add("status", f"Expected one of {', '.join(STATUSES)}.")
    for name in _STRINGS:
        if name in payload and not isinstance(payload[name], str):
            errors.add(name, "Expected a string.")
    for name in _STRING_MAPS:
        if name in payload:
            _string_map(payload[name], name, errors)
    truncated = payload.get("truncatedAlerts")
    if truncated is not None and (
        not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0
    ):
        errors.add("truncatedAlerts", "Expected a whole number, zero or more.")


def _event(alert: Any, path: str, errors: _Errors, received_at: datetime) -> AlertEvent | None:
    if not isinstance(alert, dict):
        errors.add(path, "Expected an alert object.")
        return None
    before = len(errors.by_field)
    status = alert.get("status")
    if status not in STATUSES:
        errors.add(f"{path}.status", f"Expected one of {', '.join(STATUSES)}.")
    labels = _string_map(alert.get("labels"), f"{path}.labels", errors, required=True)
    if labels == {}:
        errors.add(f"{path}.labels", "An alert needs at least one label.")
    annotations = _string_map(alert.get("annotations"), f"{path}.annotations", errors)
    starts_at = _time(alert.get("startsAt"), f"{path}.startsAt", errors)
    if starts_at is _ZERO_TIME:
        errors.add(f"{path}.startsAt", "An alert needs its start time.")
    # Absent or Go's zero time: no end (yet).
    ends_at = _time(alert["endsAt"], f"{path}.endsAt", errors) if "endsAt" in alert else None
    if ends_at is _ZERO_TIME:
        ends_at = None
    if status == AlertStatus.RESOLVED and ends_at is None and f"{path}.endsAt" not in errors:
        errors.add(f"{path}.endsAt", "A resolved alert needs its end time.")
    if starts_at is not None and starts_at is not _ZERO_TIME:
        starts_at, ends_at = _plausible(starts_at, ends_at, status, received_at, path, errors)
    source_url = alert.get("generatorURL", "")
    if not _storable_string(source_url):
        errors.add(f"{path}.generatorURL", "Expected a string.")
    fingerprint = alert.get("fingerprint", "")
    if not _storable_string(fingerprint) or len(fingerprint) > MAX_KEY_LENGTH:
        errors.add(f"{path}.fingerprint", f"Expected a string of at most {MAX_KEY_LENGTH}.")
    if len(errors.by_field) > before or labels is None or annotations is None or not starts_at:
        return None
    return AlertEvent(
        dedup_key=fingerprint.strip() or labels_fingerprint(labels),
        status=AlertStatus(str(status)),
        title=_title(labels, annotations),
        starts_at=starts_at,
        ends_at=ends_at,
        # The source's time of this state: what orders deliveries, whatever their arrival.
        event_at=ends_at if status == AlertStatus.RESOLVED and ends_at else starts_at,
        labels=labels,
        annotations=annotations,
        source_url=source_url,
        severity_hint=labels.get("severity", ""),
    )


def _title(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    summary = annotations.get("summary", "").strip()
    if summary:
        return summary
    name = labels.get("alertname", "").strip()
    if not name:
        return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    where = labels.get("service") or labels.get("instance")
    return f"{name} on {where}" if where else name


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's own fingerprint of a label set (FNV-1a 64 over the sorted labels), so an
    alert sent without one gets the key Alertmanager would have given it."""
    digest = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode() + b"\xff":
                digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def _storable_string(value: Any) -> bool:
    """A string PostgreSQL can hold: no NUL, no lone surrogate (JSON allows both)."""
    return isinstance(value, str) and is_storable(value)


def _plausible(
    starts_at: datetime,
    ends_at: datetime | None,
    status: Any,
    received_at: datetime,
    path: str,
    errors: _Errors,
) -> tuple[datetime, datetime | None]:
    """The alert's times clamped into the window (see the module's docstring)."""
    starts = clamp_event_time(starts_at, now=received_at)
    if ends_at is None:
        return starts, None
    if status != AlertStatus.RESOLVED and ends_at > received_at:
        # A firing alert's end still to come is a forecast, not an event: not kept.
        return starts, None
    ends = clamp_event_time(ends_at, now=received_at)
    if ends_at < starts_at and starts == starts_at and ends == ends_at:
        errors.add(f"{path}.endsAt", "Ends before it starts.")
    # A clamped start may pass a sound end: the alert cannot have started after it ended.
    return min(starts, ends), ends


def _string_map(
    value: Any, path: str, errors: _Errors, *, required: bool = False
) -> dict[str, str] | None:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        errors.add(path, "Required." if value is None else "Expected an object of strings.")
        return None
    bad = [
        key for key, item in value.items() if not (_storable_string(key) and _storable_string(item))
    ]
    for key in bad[:10]:
        errors.add(f"{path}.{key}" if _storable_string(key) else path, "Expected a string.")
    return None if bad else value


def _time(value: Any, path: str, errors: _Errors) -> datetime | None:
    """An RFC 3339 time in UTC, `_ZERO_TIME` itself for Go's zero time, None when invalid."""
    if value is None:
        errors.add(path, "Required.")
        return None
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        errors.add(path, "Expected an RFC 3339 time, such as 2026-11-23T19:45:37.225Z.")
        return None
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta(0)
    parts = (int(year), int(month), int(day), int(hour), int(minute), int(second))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    if parts == (1, 1, 1, 0, 0, 0) and not micro and not offset:
        # Go's zero time, kept as is: converting it to UTC from a zone can overflow.
        return _ZERO_TIME
    try:
        local = datetime(*parts, micro, tzinfo=dt_timezone(-offset if sign == "-" else offset))
    except ValueError:
        errors.add(path, "Not a valid time.")
        return None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        # Within a day of year 1 or 9999: outside the window anyway, and clamped by the caller.
        return (
            datetime.min.replace(tzinfo=UTC)
            if local.year == 1
            else datetime.max.replace(tzinfo=UTC)
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
