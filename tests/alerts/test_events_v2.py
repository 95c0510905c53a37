"""POST /hooks/events/v2/enqueue: PagerDuty Events API v2, from fixture payloads."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from accounts.actors import SYSTEM
from alerts.models import Alert, AlertStatus, IntegrationKind
from alerts.services import ingest
from alerts.services.ingest import alert_events_ingest
from alerts.services.integrations import integration_create, integration_update
from incidents.models import Incident, Source, Status
from tests.alerts.factories import firing
from tests.alerts.hooks import EventsHook as Hook

URL = Hook.URL

INVALID = "invalid event"


@pytest.fixture
def hook(db: None, client: Client) -> Hook:
    return Hook(client)


def trigger_payload(**changes: Any) -> dict[str, Any]:
    payload = {"summary": "Disk full", "source": "web-3", "severity": "warning"}
    return {k: v for k, v in {**payload, **changes}.items() if v is not None}


def test_a_trigger_is_accepted_with_pagerdutys_success_answer(hook):
    response = hook.post(hook.event("trigger"))

    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db-primary-down",
    }


def test_a_trigger_is_committed_as_a_firing_alert_before_the_answer(hook):
    hook.post(hook.event("trigger"))

    alert = Alert.objects.get()
    assert alert.integration == hook.integration
    assert alert.dedup_key == "db-primary-down"
    assert alert.status == AlertStatus.FIRING
    assert alert.title == "Primary database unreachable on db-1.example.com"
    assert alert.needs_processing


def test_a_trigger_without_a_dedup_key_gets_one_generated_and_returned(hook):
    response = hook.post(hook.event("trigger_without_dedup_key"))

    key = response.json()["dedup_key"]
    assert len(key) == 32
    int(key, 16)
    assert Alert.objects.get().dedup_key == key


def test_two_triggers_without_a_dedup_key_are_two_alerts(hook):
    first = hook.post(hook.event("trigger_without_dedup_key")).json()["dedup_key"]
    second = hook.post(hook.event("trigger_without_dedup_key")).json()["dedup_key"]

    assert first != second
    assert Alert.objects.count() == 2


def test_a_trigger_declares_an_incident_once_processed(hook):
    hook.send("trigger")

    incident = Incident.objects.get()
    assert incident.title == "Primary database unreachable on db-1.example.com"
    assert incident.severity.name == "SEV1"
    assert incident.source == Source.EVENTS_API
    assert incident.team == hook.integration.team
    assert Alert.objects.get().incident == incident


def test_a_trigger_maps_the_common_event_format_to_labels(hook):
    hook.post(hook.event("trigger"))

    alert = Alert.objects.get()
    assert alert.labels == {
        "service": "checkout",
        "ping time": "1500ms",
        "load avg": "0.75",
        "source": "db-1.example.com",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "database_down",
        "alertname": "database_down",
    }
    assert alert.severity_hint == "critical"


def test_a_trigger_keeps_nested_custom_details_as_json_annotations(hook):
    hook.post(hook.event("trigger"))

    alert = Alert.objects.get()
    assert alert.annotations == {
        "summary": "Primary database unreachable on db-1.example.com",
        "replicas": '["db-2", "db-3"]',
    }


def test_a_trigger_links_the_alert_to_its_first_link(hook):
    hook.post(hook.event("trigger"))

    assert Alert.objects.get().source_url == "https://grafana.example.com/d/db"


def test_a_trigger_never_links_to_a_script_url(hook):
    links = [{"href": "javascript:alert(1)"}, {"href": "https://example.com/ok"}]

    hook.post(hook.event("trigger", links=links))

    assert Alert.objects.get().source_url == "https://example.com/ok"


def test_a_trigger_starts_at_its_timestamp(hook):
    hook.post(hook.event("trigger"))

    alert = Alert.objects.get()
    assert alert.starts_at == datetime(2026, 11, 24, 1, 42, 58, 315000, tzinfo=UTC)
    assert alert.event_at == alert.starts_at


def test_a_trigger_without_a_timestamp_starts_when_received(hook):
    before = timezone.now()

    hook.post(hook.event("trigger_without_dedup_key"))

    assert before <= Alert.objects.get().starts_at <= timezone.now()


def test_a_trigger_without_an_explicit_class_groups_by_its_summary(hook):
    hook.post(hook.event("trigger_without_dedup_key"))

    assert Alert.objects.get().labels["alertname"] == "Disk 95% full on web-3"


def test_a_repeated_trigger_updates_the_alert_without_a_new_incident(hook):
    hook.send("trigger")
    timeline_before = Incident.objects.get().timeline.count()

    hook.send("trigger")

    alert = Alert.objects.get()
    assert alert.times_seen == 2
    assert Incident.objects.count() == 1
    assert Incident.objects.get().timeline.count() == timeline_before


def test_acknowledge_acknowledges_the_incident(hook):
    hook.send("trigger")

    hook.send("acknowledge")

    assert Alert.objects.get().status == AlertStatus.ACKNOWLEDGED
    incident = Incident.objects.get()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_at is not None


def test_acknowledge_keeps_the_alerts_title_labels_and_link(hook):
    hook.send("trigger")
    before = Alert.objects.get()

    hook.send("acknowledge")

    after = Alert.objects.get()
    assert (after.title, after.labels, after.group_key, after.source_url) == (
        before.title,
        before.labels,
        before.group_key,
        before.source_url,
    )


def test_acknowledge_of_an_unknown_dedup_key_is_accepted_and_dropped(hook):
    response = hook.post(hook.event("acknowledge"))

    assert response.status_code == 202
    assert response.json()["dedup_key"] == "db-primary-down"
    assert not Alert.objects.exists()
    assert not Incident.objects.exists()


def test_resolve_right_after_a_trigger_without_timestamps_resolves_the_alert(hook):
    hook.send("trigger_without_dedup_key", dedup_key="disk-web-3")

    hook.send("resolve", dedup_key="disk-web-3")

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.ends_at is not None


def test_a_trigger_stamped_by_a_clock_ahead_of_ours_starts_when_received(hook):
    ahead = (timezone.now() + timedelta(minutes=10)).isoformat()

    hook.post(hook.event("trigger", payload=trigger_payload(timestamp=ahead)))

    alert = Alert.objects.get()
    assert alert.starts_at <= timezone.now()
    assert alert.event_at <= timezone.now()


def test_resolve_without_a_timestamp_is_never_older_than_the_state_it_follows(hook):
    # As stored by a web server whose clock runs a minute ahead of this one.
    ahead = firing("db-primary-down", at=timezone.now() + timedelta(minutes=1))
    alert_events_ingest(integration=hook.integration, events=[ahead])

    hook.send("resolve")

    assert Alert.objects.get().status == AlertStatus.RESOLVED


def test_resolve_moves_the_incident_to_monitoring(hook):
    hook.send("trigger")

    hook.send("resolve")

    assert Incident.objects.get().status == Status.MONITORING


def test_resolve_resolves_the_incident_when_the_integration_auto_resolves(db, client):
    hook = Hook(client, auto_resolve=True)
    hook.send("trigger")

    hook.send("resolve")

    incident = Incident.objects.get()
    assert incident.status == Status.RESOLVED
    assert incident.resolved_at is not None


def test_resolve_older_than_the_trigger_is_ignored(hook):
    hook.send("trigger")
    old = {"timestamp": "2026-11-24T00:00:00Z"}

    hook.send("resolve", payload=old)

    assert Alert.objects.get().status == AlertStatus.FIRING


def test_resolve_through_another_integration_leaves_the_alert_alone(hook, client):
    hook.send("trigger")
    other = Hook(client)

    other.send("resolve")

    assert Alert.objects.get().status == AlertStatus.FIRING


def test_acknowledge_after_resolve_does_not_reopen_the_alert(hook):
    hook.send("trigger")
    hook.send("resolve")

    hook.send("acknowledge")

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.count() == 1


def test_a_trigger_after_resolve_fires_the_alert_again(hook):
    hook.send("trigger_without_dedup_key", dedup_key="disk-web-3")
    hook.send("resolve", dedup_key="disk-web-3")

    hook.send("trigger_without_dedup_key", dedup_key="disk-web-3")

    assert Alert.objects.get().status == AlertStatus.FIRING


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param({"routing_key": None}, "'routing_key' is missing.", id="no-routing-key"),
        pytest.param({"routing_key": 42}, "'routing_key' must be a string.", id="number-key"),
        pytest.param({"event_action": None}, "'event_action' is missing.", id="no-action"),
        pytest.param(
            {"event_action": "escalate"},
            "'event_action' must be one of trigger, acknowledge, resolve.",
            id="bad-action",
        ),
        pytest.param({"payload": None}, "'payload' is missing or not an object.", id="no-payload"),
        pytest.param(
            {"payload": trigger_payload(summary=None)},
            "'payload.summary' is missing.",
            id="no-summary",
        ),
        pytest.param(
            {"payload": trigger_payload(summary="  ")},
            "'payload.summary' must not be blank.",
            id="blank-summary",
        ),
        pytest.param(
            {"payload": trigger_payload(source=None)},
            "'payload.source' is missing.",
            id="no-source",
        ),
        pytest.param(
            {"payload": trigger_payload(severity=None)},
            "'payload.severity' is missing.",
            id="no-severity",
        ),
        pytest.param(
            {"payload": trigger_payload(severity="fatal")},
            "'payload.severity' must be one of critical, error, warning, info.",
            id="bad-severity",
        ),
        pytest.param(
            {"payload": trigger_payload(summary="x" * 1025)},
            "'payload.summary' must be at most 1024 characters.",
            id="long-summary",
        ),
        pytest.param(
            {"dedup_key": "k" * 256},
            "'dedup_key' must be at most 255 characters.",
            id="long-dedup-key",
        ),
        pytest.param(
            {"payload": trigger_payload(timestamp="yesterday")},
            "'payload.timestamp' must be an ISO 8601 timestamp.",
            id="bad-timestamp",
        ),
        pytest.param(
            {"payload": trigger_payload(timestamp=1732412578)},
            "'payload.timestamp' must be an ISO 8601 timestamp.",
            id="numeric-timestamp",
        ),
        pytest.param(
            {"links": {"href": "https://example.com"}},
            "'links' must be an array of objects.",
            id="links-not-array",
        ),
        pytest.param(
            {"event_action": "acknowledge", "dedup_key": None},
            "'dedup_key' is required for acknowledge events.",
            id="ack-without-key",
        ),
        pytest.param(
            {"event_action": "resolve", "dedup_key": ""},
            "'dedup_key' is required for resolve events.",
            id="resolve-without-key",
        ),
    ],
)
def test_an_invalid_event_is_refused_with_pagerdutys_error_and_nothing_written(
    hook, changes, error
):
    body = {k: v for k, v in hook.event("trigger", **changes).items() if v is not None}

    response = hook.post(body)

    assert response.status_code == 400
    assert response.json() == {
        "status": INVALID,
        "message": "Event object is invalid",
        "errors": [error],
    }
    assert not Alert.objects.exists()


def test_every_problem_of_an_event_is_listed_at_once(hook):
    body = {"routing_key": hook.token, "event_action": "trigger", "payload": {}}

    response = hook.post(body)

    assert response.json()["errors"] == [
        "'payload.summary' is missing.",
        "'payload.source' is missing.",
        "'payload.severity' is missing.",
    ]


def test_pagerdutys_own_timestamp_format_is_accepted(hook):
    payload = trigger_payload(timestamp="2015-07-17T08:42:58.315+0000")

    response = hook.post(hook.event("trigger", payload=payload))

    assert response.status_code == 202
    assert Alert.objects.get().starts_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)


def test_an_unknown_routing_key_is_refused_as_invalid_and_nothing_written(hook):
    response = hook.post(hook.event("trigger", routing_key="not-a-key"))

    assert response.status_code == 400
    assert response.json()["status"] == INVALID
    assert response.json()["errors"] == ["Invalid routing key."]
    assert not Alert.objects.exists()


def test_a_routing_key_of_another_kind_of_integration_is_refused(hook):
    _, generic_token = integration_create(
        actor=SYSTEM, name="Generic", kind=IntegrationKind.GENERIC, team=hook.integration.team
    )

    response = hook.post(hook.event("trigger", routing_key=generic_token))

    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key."]
    assert not Alert.objects.exists()


def test_a_paused_integration_refuses_events_and_nothing_written(hook):
    integration_update(actor=SYSTEM, integration=hook.integration, active=False)

    response = hook.post(hook.event("trigger"))

    assert response.status_code == 400
    assert response.json()["status"] == INVALID
    assert "paused" in response.json()["errors"][0]
    assert not Alert.objects.exists()


def test_a_body_that_is_not_json_content_is_refused_with_415(hook):
    response = hook.post(json.dumps(hook.event("trigger")), content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["status"] == INVALID
    assert not Alert.objects.exists()


def test_malformed_json_is_refused_as_invalid(hook):
    response = hook.post('{"routing_key": ')

    assert response.status_code == 400
    assert response.json()["status"] == INVALID
    assert response.json()["errors"][0].startswith("The body is not valid JSON")


def test_json_nested_too_deeply_is_refused_as_invalid(hook):
    response = hook.post("[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["status"] == INVALID


def test_a_json_document_that_is_not_an_object_is_refused(hook):
    response = hook.post([hook.event("trigger")])

    assert response.status_code == 400
    assert response.json()["errors"] == ["The event must be a JSON object."]
    assert not Alert.objects.exists()


def test_a_body_over_512_kb_is_refused_with_413_and_nothing_written(hook):
    details = {"blob": "x" * settings.MAX_REQUEST_BODY_BYTES}
    payload = trigger_payload(custom_details=details)

    response = hook.post(hook.event("trigger", payload=payload))

    assert response.status_code == 413
    assert not Alert.objects.exists()


def test_text_postgresql_cannot_store_is_cleaned_rather_than_refused(hook):
    payload = trigger_payload(summary="nul\u0000 and \ud800 surrogate")

    response = hook.post(hook.event("trigger", payload=payload))

    assert response.status_code == 202
    assert Alert.objects.get().title == "nul and ? surrogate"


def test_a_database_outage_answers_503_so_the_client_retries(hook, monkeypatch):
    def unavailable(**kwargs: Any) -> int:
        raise OperationalError("the database is down")

    monkeypatch.setattr(ingest, "alert_events_ingest", unavailable)

    response = hook.post(hook.event("trigger"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert not Alert.objects.exists()


def test_get_is_not_allowed(hook):
    assert hook.client.get(URL).status_code == 405
