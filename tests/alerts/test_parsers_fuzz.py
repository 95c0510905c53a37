"""Whatever a client posts, the Alertmanager webhook answers with a 2xx or a 4xx, never a 5xx.

Payloads are drawn both from all JSON and from near-valid Alertmanager webhooks (every field
either well-formed or anything at all), so the generator reaches past the first check.
"""

import json
from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.actors import SYSTEM
from alerts.models import AlertStatus, Integration, IntegrationKind
from alerts.parsers import AlertEvent, PayloadError
from alerts.parsers.alertmanager import parse
from alerts.services.integrations import integration_create
from alerts.services.processing import alerts_process_pending
from tests.factories import TeamFactory

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

ZONES = [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]


@st.composite
def go_times(draw: st.DrawFn) -> str:
    """RFC 3339 as Go writes it: 0, 3, 6 or 9 fractional digits; Z or an offset."""
    when = draw(st.datetimes())  # wall-clock fields; the zone is drawn and written apart
    digits = draw(st.sampled_from([0, 3, 6, 9]))
    nanos = f"{when.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    zone = draw(st.sampled_from(ZONES))
    offset = zone.utcoffset(None)
    if offset:
        minutes = int(offset.total_seconds()) // 60
        suffix = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    else:
        suffix = "Z"
    return (
        f"{when.year:04d}-{when.month:02d}-{when.day:02d}T"
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
        f"{'.' + nanos if digits else ''}{suffix}"
    )


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a well-formed value, sometimes any JSON at all."""
    return st.one_of(valid, valid, valid, json_values)


label_maps = st.dictionaries(
    st.sampled_from(["alertname", "service", "instance", "severity", "job"]) | st.text(max_size=6),
    st.sampled_from(["HighErrorRate", "checkout", "critical", "warning", "a:1"]) | st.text(),
    max_size=4,
)
times = mostly(go_times() | st.just("0001-01-01T00:00:00Z"))

alerts = st.fixed_dictionaries(
    {
        "status": mostly(st.sampled_from([AlertStatus.FIRING.value, AlertStatus.RESOLVED.value])),
        "labels": mostly(label_maps),
        "startsAt": times,
    },
    optional={
        "annotations": mostly(label_maps),
        "endsAt": times,
        "generatorURL": mostly(st.text(max_size=20)),
        "fingerprint": mostly(st.text(alphabet="0123456789abcdef", max_size=16) | st.text()),
    },
)

webhooks = st.fixed_dictionaries(
    {"version": mostly(st.just("4")), "alerts": mostly(st.lists(alerts, max_size=4))},
    optional={
        "status": mostly(st.sampled_from(["firing", "resolved"])),
        "groupKey": mostly(st.text(max_size=10)),
        "receiver": mostly(st.text(max_size=10)),
        "groupLabels": mostly(label_maps),
        "commonLabels": mostly(label_maps),
        "commonAnnotations": mostly(label_maps),
        "externalURL": mostly(st.text(max_size=10)),
        "truncatedAlerts": mostly(st.integers(min_value=0)),
    },
)

INTEGRATION = Integration(kind=IntegrationKind.ALERTMANAGER)


def check_event(event: AlertEvent) -> None:
    assert 0 < len(event.dedup_key) <= 255
    assert event.title.strip()
    assert event.status in (AlertStatus.FIRING, AlertStatus.RESOLVED)
    for when in (event.starts_at, event.event_at, event.ends_at):
        assert when is None or when.utcoffset() == timedelta(0)
    if event.status == AlertStatus.RESOLVED:
        assert event.ends_at is not None
        assert event.event_at == event.ends_at >= event.starts_at
    else:
        assert event.event_at == event.starts_at


@settings(max_examples=400, deadline=None)
@given(payload=webhooks | json_values)
def test_the_alertmanager_parser_returns_sound_events_or_raises_payload_error(payload):
    try:
        events = parse(payload, integration=INTEGRATION)
    except PayloadError as exc:
        assert exc.errors
        assert all(isinstance(m, str) for messages in exc.errors.values() for m in messages)
        return
    for event in events:
        check_event(event)


@pytest.fixture
def token(db: None) -> tuple[int, str]:
    integration, token = integration_create(
        actor=SYSTEM,
        name="Prometheus",
        kind=IntegrationKind.ALERTMANAGER,
        team=TeamFactory(name="Fuzz"),
    )
    return integration.pk, token


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=webhooks.map(lambda p: ("json", p))
    | json_values.map(lambda v: ("json", json.dumps(v)))
    | st.binary(max_size=64).map(lambda b: ("raw", b))
)
def test_any_body_posted_to_the_alertmanager_webhook_is_answered_below_500(token, body):
    integration_id, secret = token
    kind, value = body
    client = Client()
    response = client.post(
        "/hooks/alertmanager/",
        value,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code < 500, response.content
    if kind == "json" and response.status_code == 200:
        # What was accepted must be processable too: a poison row would block every later one.
        alerts_process_pending(integration_id=integration_id)
