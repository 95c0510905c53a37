"""POST /hooks/alertmanager/: what Alertmanager's deliveries do, from fixture payloads."""

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse

from accounts.actors import SYSTEM
from alerts import tasks
from alerts.models import Alert, AlertStatus, IntegrationKind
from alerts.services.integrations import integration_create, integration_update
from alerts.services.processing import alerts_process_pending
from incidents.models import EventKind, Incident, Source, Status, TimelineEvent
from tests.alerts.hooks import AlertmanagerHook as Hook
from tests.alerts.hooks import fixture
from tests.factories import TeamFactory

URL = Hook.URL


@pytest.fixture
def hook(db: None, client: Client) -> Hook:
    return Hook(client)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The integration ids whose processing task was enqueued."""
    calls: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", calls.append)
    return calls


def counts() -> tuple[int, int, int]:
    return Alert.objects.count(), Incident.objects.count(), TimelineEvent.objects.count()


def alert_entries(incident: Incident) -> list[str]:
    return list(incident.timeline.filter(kind=EventKind.ALERT).values_list("message", flat=True))


def test_a_delivery_with_a_bearer_token_is_stored_and_answered_with_its_count(hook):
    response = hook.post("grouped_firing")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "alerts": 2}
    assert set(Alert.objects.values_list("dedup_key", "status")) == {
        ("3812044a4740f25a", AlertStatus.FIRING),
        ("7d2d332feada5c59", AlertStatus.FIRING),
    }


def test_the_token_may_be_in_the_path(hook):
    response = hook.post("firing", url=f"{URL}{hook.token}", headers={})

    assert response.status_code == 200
    assert Alert.objects.get().integration == hook.integration


def test_a_stored_delivery_enqueues_processing_once_committed(
    hook, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        hook.post("firing")
    assert enqueued == []

    for callback in callbacks:
        callback()

    assert enqueued == [hook.integration.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_alerts_are_committed_before_the_answer(client, monkeypatch):
    hook = Hook(client)
    seen_by_another_connection: list[int] = []

    def count_from_another_connection(integration_id: int) -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                table = Alert._meta.db_table
                cursor.execute(
                    f"SELECT count(*) FROM {table} WHERE integration_id = %s",  # noqa: S608
                    [integration_id],
                )
                seen_by_another_connection.append(cursor.fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(tasks.process_alerts, "delay", count_from_another_connection)

    response = hook.post("grouped_firing")

    assert response.status_code == 200
    assert seen_by_another_connection == [2]


def test_a_firing_alert_declares_an_incident_with_the_severity_its_labels_say(hook):
    hook.deliver("firing")

    incident = Incident.objects.get()
    assert incident.title == "CheckoutDown on checkout"
    assert incident.severity.name == "SEV1"
    assert incident.source == Source.ALERTMANAGER
    assert incident.status == Status.DETECTED
    assert Alert.objects.get().incident == incident
    assert alert_entries(incident) == ["Alert firing: CheckoutDown on checkout"]


def test_a_firing_alert_already_open_updates_last_seen_and_count_without_a_new_incident(hook):
    hook.deliver("firing")
    first_seen = Alert.objects.get().last_seen_at

    hook.deliver("firing")

    alert = Alert.objects.get()
    assert alert.times_seen == 2
    assert alert.last_seen_at > first_seen
    assert Incident.objects.count() == 1


def test_the_same_payload_delivered_again_changes_nothing(hook):
    hook.deliver("grouped_firing", "resolved")
    before = counts()
    statuses = set(Alert.objects.values_list("dedup_key", "status"))
    incidents = set(Incident.objects.values_list("pk", "status", "severity"))

    hook.deliver("grouped_firing", "resolved")

    assert counts() == before
    assert set(Alert.objects.values_list("dedup_key", "status")) == statuses
    assert set(Incident.objects.values_list("pk", "status", "severity")) == incidents


def test_alerts_of_one_alertmanager_group_split_by_our_grouping_labels(hook):
    hook.deliver("grouped_firing")

    assert sorted(Incident.objects.values_list("title", "severity__name")) == [
        ("HighErrorRate on cart", "SEV3"),
        ("HighErrorRate on checkout", "SEV1"),
    ]


def test_alerts_of_one_group_become_one_incident_at_the_most_severe_level(db, client):
    hook = Hook(client, grouping_labels=["alertname"])

    hook.deliver("grouped_firing")

    incident = Incident.objects.get()
    assert incident.severity.name == "SEV1"
    assert incident.alerts.count() == 2
    assert len(alert_entries(incident)) == 2


def test_a_new_alert_joins_the_open_incident_of_its_group(hook):
    hook.deliver("firing")
    other = fixture("alertmanager", "firing")
    other["alerts"][0]["labels"]["instance"] = "checkout-2:8080"
    other["alerts"][0]["fingerprint"] = "2e13768c7ec52373"

    hook.deliver(other)

    incident = Incident.objects.get()
    assert incident.alerts.count() == 2
    assert alert_entries(incident)[-1] == "Alert joined: CheckoutDown on checkout"


def test_a_resolved_alert_resolves_its_row_and_moves_its_incident_to_monitoring(hook):
    hook.deliver("firing")

    hook.deliver("resolved")

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.ends_at is not None
    assert Incident.objects.get().status == Status.MONITORING
    assert alert_entries(Incident.objects.get())[-1] == "Alert resolved: CheckoutDown on checkout"


def test_every_alert_resolved_resolves_the_incident_when_the_integration_says_so(db, client):
    hook = Hook(client, auto_resolve=True)
    hook.deliver("firing")

    hook.deliver("resolved")

    assert Incident.objects.get().status == Status.RESOLVED


def test_the_incident_stays_open_while_one_of_its_alerts_still_fires(db, client):
    hook = Hook(client, grouping_labels=["alertname"], auto_resolve=True)
    hook.deliver("grouped_firing")
    resolution = fixture("alertmanager", "grouped_firing")
    [cart, _] = resolution["alerts"]
    cart.update(status="resolved", endsAt="2026-11-23T19:50:00Z")
    resolution["alerts"] = [cart]

    hook.deliver(resolution)

    assert Incident.objects.get().status == Status.DETECTED


def test_a_resolve_for_an_unknown_key_is_a_no_op(hook):
    response = hook.post("resolved")
    alerts_process_pending(integration_id=hook.integration.pk)

    assert response.status_code == 200
    assert Incident.objects.count() == 0
    assert TimelineEvent.objects.count() == 0


def test_a_stale_firing_delivered_after_the_resolution_changes_nothing(hook):
    hook.deliver("firing", "resolved")
    before = counts()

    hook.deliver("stale_firing")

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.title == "CheckoutDown on checkout"
    assert Incident.objects.get().status == Status.MONITORING
    assert counts() == before


def test_a_resolution_delivered_before_its_firing_wins(hook):
    hook.deliver("resolved", "firing")

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.count() == 0


def test_an_alert_firing_again_while_its_incident_is_open_is_on_its_timeline(hook):
    hook.deliver("firing", "resolved")

    hook.deliver("firing_again")

    incident = Incident.objects.get()
    assert Alert.objects.get().status == AlertStatus.FIRING
    assert alert_entries(incident)[-1] == "Alert firing again: CheckoutDown on checkout"


def test_an_alert_firing_again_after_its_incident_resolved_declares_a_new_one(db, client):
    hook = Hook(client, auto_resolve=True)
    hook.deliver("firing", "resolved")

    hook.deliver("firing_again")

    first, second = Incident.objects.order_by("number")
    assert first.status == Status.RESOLVED
    assert second.status == Status.DETECTED
    assert Alert.objects.get().incident == second


def test_a_key_repeated_in_one_payload_keeps_its_newest_state(hook):
    response = hook.post("repeated_keys")
    alerts_process_pending(integration_id=hook.integration.pk)

    assert response.json()["alerts"] == 1
    alert = Alert.objects.get()
    assert alert.starts_at.isoformat() == "2026-11-23T19:45:37.225119+00:00"
    assert Incident.objects.count() == 1


def test_start_times_of_any_precision_and_zone_are_stored_in_utc(hook):
    hook.deliver("precision")

    starts = dict(Alert.objects.values_list("labels__service", "starts_at"))
    assert {service: when.isoformat() for service, when in starts.items()} == {
        "checkout": "2026-11-23T19:45:37.225119+00:00",
        "cart": "2026-11-23T19:45:37.225119+00:00",
        "search": "2026-11-23T19:45:37.225000+00:00",
        "login": "2026-11-23T19:45:37+00:00",
        "billing": "2026-11-23T19:45:37.225119+00:00",
    }


def test_an_alert_without_fingerprint_is_the_same_alert_as_with_it(hook):
    hook.deliver("missing_fingerprint", "resolved")

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.get().status == Status.MONITORING


def test_an_alert_storm_is_absorbed_without_dropping_an_alert(hook):
    hook.deliver("storm")

    storm = Incident.objects.get(labels__tocsin_storm=str(hook.integration.pk))
    assert Alert.objects.count() == 50
    assert Incident.objects.exclude(pk=storm.pk).count() == 10
    assert storm.alerts.count() == 40
    assert not Alert.objects.filter(incident__isnull=True).exists()
    assert TimelineEvent.objects.filter(kind=EventKind.ALERT).count() == 50


def test_a_mixed_group_splits_into_incidents_per_group_and_stores_the_resolved(hook):
    hook.deliver("mixed_group")

    assert sorted(Incident.objects.values_list("title", "severity__name")) == [
        ("DiskFull on db", "SEV1"),
        ("HighLatency on api", "SEV3"),
    ]
    assert Incident.objects.get(title="DiskFull on db").alerts.count() == 2
    resolved = Alert.objects.get(dedup_key="1a7e000000000002")
    assert (resolved.status, resolved.incident) == (AlertStatus.RESOLVED, None)


def test_each_alert_event_writes_a_timeline_entry(db, client):
    hook = Hook(client, grouping_labels=["alertname"])
    resolution = fixture("alertmanager", "grouped_firing")
    cart, checkout = resolution["alerts"]
    cart.update(status="resolved", endsAt="2026-11-23T19:51:00Z")
    checkout.update(status="resolved", endsAt="2026-11-23T19:50:00Z")

    hook.deliver("grouped_firing", resolution)

    assert alert_entries(Incident.objects.get()) == [
        "Alert firing: HighErrorRate on checkout",
        "Alert joined: HighErrorRate on cart",
        "Alert resolved: HighErrorRate on checkout",
        "Alert resolved: HighErrorRate on cart",
    ]


@pytest.fixture
def refused(hook, enqueued, django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Post, check the answer is a problem with `status`, and that nothing was written."""

    def post(status: int, payload: Any = "firing", **kwargs: Any) -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = hook.post(payload, **kwargs)
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert counts() == (0, 0, 0)
        assert (callbacks, enqueued) == ([], [])
        problem: dict[str, Any] = response.json()
        assert problem["status"] == status
        return problem

    return post


def test_an_unknown_bearer_token_is_refused_with_401(refused):
    assert refused(401, headers={"Authorization": "Bearer nope"})["detail"] == (
        "Unknown integration token."
    )


def test_an_unknown_path_token_is_refused_with_401(refused):
    refused(401, url=f"{URL}nope", headers={})


def test_a_delivery_without_a_token_is_refused_with_401(refused):
    refused(401, headers={})


def test_the_token_of_another_kind_of_integration_is_refused_with_401(refused):
    _, token = integration_create(
        actor=SYSTEM, name="Generic", kind=IntegrationKind.GENERIC, team=TeamFactory(name="Web")
    )

    refused(401, token=token)


def test_a_paused_integration_refuses_with_403(refused, hook):
    integration_update(actor=SYSTEM, integration=hook.integration, active=False)

    assert refused(403)["detail"] == "This integration is paused."


def test_a_body_that_is_not_json_by_its_content_type_is_refused_with_415(refused):
    refused(415, content_type="text/plain")


def test_malformed_json_is_refused_with_400(refused):
    assert refused(400, '{"version": "4", "alerts": [')["detail"].startswith(
        "The body is not valid JSON"
    )


def test_json_nested_deeper_than_the_parser_goes_is_refused_with_400(refused):
    refused(400, "[" * 100_000)


def test_another_webhook_version_is_refused_with_422_naming_the_field(refused):
    problem = refused(422, "wrong_version")

    assert problem["errors"] == {"version": ["Expected \"4\", got '3'."]}


def test_missing_fields_are_refused_with_422_naming_each(refused):
    problem = refused(422, "missing_fields")

    assert problem["errors"] == {
        "alerts.0.status": ["Expected one of firing, resolved."],
        "alerts.0.startsAt": ["Required."],
    }


def test_one_invalid_alert_refuses_the_whole_delivery(refused):
    payload = fixture("alertmanager", "grouped_firing")
    payload["alerts"][1]["labels"]["port"] = 9100

    assert list(refused(422, payload)["errors"]) == ["alerts.1.labels.port"]


def test_a_body_over_the_size_limit_is_refused_with_413(refused):
    payload = fixture("alertmanager", "firing")
    payload["alerts"][0]["annotations"]["description"] = "x" * settings.MAX_REQUEST_BODY_BYTES

    refused(413, payload)


def test_an_unreachable_database_answers_503_so_alertmanager_retries(hook):
    with mock.patch.object(
        CursorWrapper, "execute", side_effect=OperationalError("connection refused")
    ):
        response = hook.post("firing")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert counts() == (0, 0, 0)


def test_a_database_failure_while_storing_answers_503_and_stores_nothing(hook, monkeypatch):
    execute = CursorWrapper.execute

    def insert_fails(self: CursorWrapper, sql: str, params: Any = None) -> Any:
        if sql.startswith(f"INSERT INTO {Alert._meta.db_table}"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", insert_fails)

    response = hook.post("grouped_firing")

    assert response.status_code == 503
    assert counts() == (0, 0, 0)


def test_only_post_is_allowed(hook):
    assert hook.client.get(reverse("alerts:hook-alertmanager")).status_code == 405


def test_a_summary_longer_than_an_incident_title_is_shortened_for_the_incident(hook):
    summary = "Checkout is failing for every customer in every region " * 10
    payload = fixture("alertmanager", "firing")
    payload["alerts"][0]["annotations"]["summary"] = summary

    hook.deliver(payload)

    incident = Incident.objects.get()
    assert len(incident.title) == 200
    assert incident.title.endswith("…")
    assert Alert.objects.get().title == summary.strip()


def test_alerts_with_label_values_too_long_for_the_group_column_still_group(hook):
    payload = fixture("alertmanager", "grouped_firing")
    for alert in payload["alerts"]:
        alert["labels"].update(alertname="QueueBacklog" * 50, service="checkout")

    hook.deliver(payload)

    assert Incident.objects.get().alerts.count() == 2
