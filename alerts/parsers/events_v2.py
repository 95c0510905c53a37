"""PagerDuty Events API v2 events: validated as PagerDuty does, turned into AlertEvents.

The endpoint (`POST /hooks/events/v2/enqueue`) is alerts.hooks.events_v2_enqueue.

Field rules and answers follow PagerDuty's documentation (developer.pagerduty.com, "Send an
Alert Event" and "Events API v2 Overview"): 202 `{"status": "success", "message": "Event
processed", "dedup_key": …}`; 400 `{"status": "invalid event", "message": "Event object is
invalid", "errors": [...]}`, which clients log and do not retry; 5xx, which they retry. Every
answer of this endpoint keeps that shape, so a PagerDuty client can read our errors too; only
the 413 of the body-size middleware, which runs before any view, is problem JSON.
"""

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from alerts import selectors
from alerts.models import Alert, AlertStatus, Integration
from alerts.parsers.base import AlertEvent
from alerts.parsers.generic import clean_text, scalar_text
from ops.timestamps import clamp_event_time

logger = logging.getLogger(__name__)

ACTIONS = {
    "trigger": AlertStatus.FIRING,
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "resolve": AlertStatus.RESOLVED,
}
SEVERITIES = ("critical", "error", "warning", "info")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_LABELS = 64
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION = 4096


class InvalidEvent(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _string(value: Any, name: str, errors: list[str], *, required: bool = False) -> str:
    if value is None:
        if required:
            errors.append(f"'{name}' is missing.")
        return ""
    if not isinstance(value, str):
        errors.append(f"'{name}' must be a string.")
        return ""
    if required and not value.strip():
        errors.append(f"'{name}' must not be blank.")
    return value


def _timestamp(value: Any, errors: list[str]) -> datetime | None:
    """The event's own time in UTC, as sent; validate() clamps it into the window."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                # Within a day of year 1 or 9999: outside the window, clamped either way.
                return datetime.min.replace(tzinfo=UTC)
    errors.append("'payload.timestamp' must be an ISO 8601 timestamp.")
    return None


def validate(body: Any, received_at: datetime) -> tuple[str, str, str, dict[str, Any]]:
    """The routing key, action, dedup key and checked fields of an event; InvalidEvent lists
    every problem at once, as PagerDuty does."""
    if not isinstance(body, dict):
        raise InvalidEvent(["The event must be a JSON object."])
    errors: list[str] = []
    routing_key = _string(body.get("routing_key"), "routing_key", errors, required=True)
    action = _string(body.get("event_action"), "event_action", errors, required=True)
    if action and action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve.")
    dedup_key = _string(body.get("dedup_key"), "dedup_key", errors)
    if len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' must be at most {MAX_DEDUP_KEY} characters.")
    if action in ("acknowledge", "resolve") and not dedup_key.strip():
        errors.append(f"'dedup_key' is required for {action} events.")

    payload = body.get("payload")
    event: dict[str, Any] = {}
    if action == "trigger" and isinstance(payload, dict):
        event = _trigger_fields(body, payload, errors)
    elif action == "trigger":
        errors.append("'payload' is missing or not an object.")
    timestamp = _timestamp(payload.get("timestamp"), errors) if isinstance(payload, dict) else None
    if errors:
        raise InvalidEvent(errors)
    if action == "trigger" and not dedup_key.strip():
        # As PagerDuty: a trigger without a key is a new alert, under a key we make and return.
        dedup_key = uuid.uuid4().hex
    # A source clock ahead of ours must not put a trigger in the future: a resolve sent right
    # after it without a timestamp (stamped with our now) would then look older and be ignored.
    # An impossible timestamp (year 1, year 9999) is clamped too, not refused: PagerDuty's
    # clients do not retry a 400, and the event is worth more than its timestamp.
    event["at"] = clamp_event_time(timestamp, now=received_at) if timestamp is not None else None
    return routing_key, action, dedup_key, event


def _trigger_fields(
    body: dict[str, Any], payload: dict[str, Any], errors: list[str]
) -> dict[str, Any]:
    summary = _string(payload.get("summary"), "payload.summary", errors, required=True)
    if len(summary) > MAX_SUMMARY:
        errors.append(f"'payload.summary' must be at most {MAX_SUMMARY} characters.")
    source = _string(payload.get("source"), "payload.source", errors, required=True)
    severity = _string(payload.get("severity"), "payload.severity", errors, required=True)
    if severity.strip() and severity not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info.")
    return {
        "summary": summary.strip(),
        "source": source,
        "severity": severity,
        "component": _string(payload.get("component"), "payload.component", errors),
        "group": _string(payload.get("group"), "payload.group", errors),
        "class": _string(payload.get("class"), "payload.class", errors),
        "custom_details": payload.get("custom_details"),
        "links": _objects(body.get("links"), "links", errors),
        "client_url": body.get("client_url"),
    }


def _objects(value: Any, name: str, errors: list[str]) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        errors.append(f"'{name}' must be an array of objects.")
        return []
    return value


def _web_url(value: Any) -> str:
    # Only web addresses: a `javascript:` link would run in whoever clicks it.
    if isinstance(value, str) and value.lower().startswith(("https://", "http://")):
        return clean_text(value, 2000)
    return ""


def _labels_and_annotations(event: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Labels: custom_details' scalar fields, then the PD-CEF fields, which win. Annotations:
    the summary and custom_details' nested values as JSON."""
    labels: dict[str, str] = {}
    annotations = {"summary": clean_text(event["summary"], MAX_ANNOTATION)}
    details = event["custom_details"]
    if isinstance(details, dict):
        for key, value in details.items():
            name = clean_text(str(key), MAX_LABEL_KEY)
            text = scalar_text(value)
            if text is not None and len(labels) < MAX_LABELS:
                labels[name] = clean_text(text, MAX_LABEL_VALUE)
            elif text is None and value is not None and len(annotations) < MAX_LABELS:
                annotations[name] = clean_text(json.dumps(value, default=str), MAX_ANNOTATION)
    elif details is not None:
        text = scalar_text(details)
        annotations["description"] = clean_text(
            text if text is not None else json.dumps(details, default=str), MAX_ANNOTATION
        )
    for name in ("source", "component", "group", "class"):
        if event[name]:
            labels[name] = clean_text(event[name], MAX_LABEL_VALUE)
    # The default grouping labels are alertname + service: the event's class, else its summary,
    # names the kind of problem, so unrelated events do not share one incident.
    labels.setdefault("alertname", labels.get("class") or clean_text(event["summary"], 200))
    return labels, annotations


def events(
    integration: Integration,
    action: str,
    dedup_key: str,
    event: dict[str, Any],
    received_at: datetime,
) -> list[AlertEvent]:
    at: datetime | None = event["at"]
    key = clean_text(dedup_key, MAX_DEDUP_KEY)
    if action == "trigger":
        labels, annotations = _labels_and_annotations(event)
        links = [_web_url(link.get("href")) for link in event["links"]]
        source_url = next((url for url in links if url), "") or _web_url(event["client_url"])
        when = at or received_at
        return [
            AlertEvent(
                dedup_key=key,
                status=AlertStatus.FIRING,
                title=clean_text(event["summary"], MAX_SUMMARY),
                starts_at=when,
                event_at=when,
                labels=labels,
                annotations=annotations,
                source_url=source_url,
                severity_hint=event["severity"],
            )
        ]
    alert = selectors.alert_open_for_key(integration=integration, dedup_key=key)
    if alert is None:
        return []
    return [_follow_up(alert, ACTIONS[action], at, received_at)]


def _follow_up(
    alert: Alert, status: AlertStatus, at: datetime | None, received_at: datetime
) -> AlertEvent:
    """An acknowledge or resolve carries only the key: the rest is the alert's as stored, so
    the upsert keeps its title and labels (and so its group)."""
    # Without a timestamp the event happened now, and never before the state it follows —
    # even if this web server's clock is a little behind the one that took the trigger.
    when = at if at is not None else max(received_at, alert.event_at)
    return AlertEvent(
        dedup_key=alert.dedup_key,
        status=status,
        title=alert.title,
        starts_at=alert.starts_at,
        event_at=when,
        ends_at=when if status == AlertStatus.RESOLVED else None,
        labels=alert.labels,
        annotations=alert.annotations,
        source_url=alert.source_url,
        severity_hint=alert.severity_hint,
    )
