"""Impossible times from alert sources (findings 1 and 2 of issue 9), through the webhook views
and the processor.

Machine sources get their times clamped into ops.timestamps' window, not refused: Alertmanager
and PagerDuty's clients do not retry a 4xx, so a refusal would lose the delivery's sound alerts
too. A time after the receive time is capped at it, so one far-future time cannot make every
later delivery of its alert look stale.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.middleware import TIMEZONE_COOKIE
from alerts.models import Alert, AlertStatus, IntegrationKind
from alerts.services.integrations import integration_create
from alerts.services.processing import alerts_process_pending
from incidents.models import Incident, Status
from oncall import tasks as oncall_tasks
from oncall.models import Notification
from tests.factories import TeamFactory
from tests.oncall.factories import pageable, policy

YEAR_1 = "0001-01-01T00:00:00.5Z"
YEAR_9999 = "9999-12-31T23:59:59Z"
ZONES = ["America/Los_Angeles", "Europe/London", "Asia/Tokyo"]


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def am_alert(status: str = "firing", **fields: Any) -> dict[str, Any]:
    alert = {
        "status": status,
        "labels": {"alertname": "CheckoutDown", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "Checkout is down"},
        "startsAt": rfc3339(timezone.now() - timedelta(minutes=1)),
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "1e13768c7ec52373",
    }
    alert.update(fields)
    return alert


class Alertmanager:
    def __init__(self, client: Client, **settings: Any) -> None:
        self.client = client
        self.integration, self.token = integration_create(
            actor=SYSTEM,
            name="Prometheus",
            kind=IntegrationKind.ALERTMANAGER,
            team=TeamFactory(name="Payments"),
            **settings,
        )

    def deliver(self, *alerts: dict[str, Any]) -> Any:
        body = {"version": "4", "status": alerts[0]["status"], "alerts": list(alerts)}
        response = self.client.post(
            "/hooks/alertmanager/",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.content
        while alerts_process_pending(integration_id=self.integration.pk).more_pending:
            pass
        return response


@pytest.fixture
def alertmanager(db: None, client: Client) -> Alertmanager:
    return Alertmanager(client)


@pytest.mark.parametrize("when", [YEAR_1, "0001-01-01T00:00:00+14:00", YEAR_9999])
def test_an_impossible_start_is_accepted_at_the_receive_time(alertmanager, when):
    before = timezone.now()

    alertmanager.deliver(am_alert(startsAt=when))

    alert = Alert.objects.get()
    assert before <= alert.starts_at <= timezone.now()
    assert before <= Incident.objects.get().started_at <= timezone.now()


def test_one_alert_with_an_impossible_time_does_not_lose_the_others_of_its_delivery(
    alertmanager,
):
    sound = am_alert(fingerprint="aaaa", labels={"alertname": "A", "service": "checkout"})

    alertmanager.deliver(sound, am_alert(fingerprint="bbbb", startsAt=YEAR_9999))

    assert sorted(Alert.objects.values_list("dedup_key", flat=True)) == ["aaaa", "bbbb"]
    assert Alert.objects.get(dedup_key="aaaa").starts_at == datetime.fromisoformat(
        sound["startsAt"]
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("when", [YEAR_1, YEAR_9999])
def test_the_incident_of_an_impossible_time_shows_to_viewers_in_every_zone(
    alertmanager, responder, zone, when
):
    alertmanager.deliver(am_alert(startsAt=when))
    incident = Incident.objects.get()
    viewer = Client()
    viewer.force_login(responder)
    viewer.cookies[TIMEZONE_COOKIE] = zone

    page = viewer.get(incident.get_absolute_url())
    api = viewer.get("/api/v1/incidents/")

    assert page.status_code == 200
    assert api.status_code == 200
    assert api.json()["results"][0]["ref"] == incident.ref


def test_a_far_future_end_cannot_silence_the_alert_firing_again(
    db, client, django_capture_on_commit_callbacks
):
    policy((5, [pageable("alice")]))
    alertmanager = Alertmanager(client, auto_resolve=True)
    started = timezone.now() - timedelta(minutes=10)
    alertmanager.deliver(am_alert(startsAt=rfc3339(started)))
    alertmanager.deliver(am_alert("resolved", startsAt=rfc3339(started), endsAt=YEAR_9999))

    with django_capture_on_commit_callbacks(execute=True):
        alertmanager.deliver(am_alert(startsAt=rfc3339(timezone.now())))

    first, second = Incident.objects.order_by("number")
    assert first.status == Status.RESOLVED
    assert Alert.objects.get().status == AlertStatus.FIRING
    assert Alert.objects.get().incident == second
    assert oncall_tasks.start_escalation(second.pk) is True
    assert Notification.objects.filter(incident=second, user__username="alice").exists()


def test_a_far_future_end_is_stored_as_the_receive_time(alertmanager):
    started = timezone.now() - timedelta(minutes=10)
    alertmanager.deliver(am_alert(startsAt=rfc3339(started)))
    before = timezone.now()

    alertmanager.deliver(am_alert("resolved", startsAt=rfc3339(started), endsAt=YEAR_9999))

    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED
    assert before <= alert.ends_at <= timezone.now()


def test_a_resolve_after_a_source_clock_ran_ahead_is_not_dropped(alertmanager):
    # The source's clock ran ten minutes ahead when the alert fired, then was corrected.
    ahead = timezone.now() + timedelta(minutes=10)
    alertmanager.deliver(am_alert(startsAt=rfc3339(ahead)))

    alertmanager.deliver(
        am_alert("resolved", startsAt=rfc3339(ahead), endsAt=rfc3339(timezone.now()))
    )

    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert Incident.objects.get().status == Status.MONITORING


def test_a_firing_alerts_forecast_end_is_not_kept(alertmanager):
    alertmanager.deliver(am_alert(endsAt=rfc3339(timezone.now() + timedelta(minutes=4))))

    assert Alert.objects.get().ends_at is None


def test_an_end_before_a_sound_start_is_still_refused_with_422(alertmanager):
    start = timezone.now() - timedelta(minutes=5)
    body = {
        "version": "4",
        "status": "resolved",
        "alerts": [
            am_alert(
                "resolved", startsAt=rfc3339(start), endsAt=rfc3339(start - timedelta(minutes=1))
            )
        ],
    }

    response = alertmanager.client.post(
        "/hooks/alertmanager/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {alertmanager.token}"},
    )

    assert response.status_code == 422
    assert "alerts.0.endsAt" in response.json()["errors"]


class EventsApi:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.integration, self.token = integration_create(
            actor=SYSTEM,
            name="Grafana",
            kind=IntegrationKind.EVENTS_V2,
            team=TeamFactory(name="Payments"),
        )

    def post(self, **body: Any) -> Any:
        event = {
            "routing_key": self.token,
            "event_action": "trigger",
            "dedup_key": "disk-web-3",
            "payload": {"summary": "Disk full", "source": "web-3", "severity": "error"},
            **body,
        }
        return self.client.post(
            "/hooks/events/v2/enqueue", json.dumps(event), content_type="application/json"
        )


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59"]
)
def test_an_events_api_timestamp_out_of_range_is_the_receive_time(db, client, when):
    events = EventsApi(client)
    before = timezone.now()
    payload = {"summary": "Disk full", "source": "web-3", "severity": "error", "timestamp": when}

    response = events.post(payload=payload)

    assert response.status_code == 202
    assert before <= Alert.objects.get().starts_at <= timezone.now()


@pytest.mark.parametrize("key", ["\ud800", "\x00", "\udfff" * 3, "é" * 43])
def test_a_routing_key_that_cannot_be_a_token_is_an_invalid_event_not_a_500(db, client, key):
    response = EventsApi(client).post(routing_key=key)

    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key."],
    }


def test_a_trigger_at_an_out_of_range_time_can_be_resolved(db, client):
    events = EventsApi(client)
    payload = {"summary": "Disk", "source": "web-3", "severity": "error", "timestamp": YEAR_9999}
    events.post(payload=payload)

    response = events.post(event_action="resolve")
    alerts_process_pending(integration_id=events.integration.pk)

    assert response.status_code == 202
    assert Alert.objects.get().status == AlertStatus.RESOLVED


def test_an_alert_stored_at_year_1_before_times_were_checked_still_declares(alertmanager):
    alertmanager.client.post(
        "/hooks/alertmanager/",
        json.dumps({"version": "4", "status": "firing", "alerts": [am_alert()]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {alertmanager.token}"},
    )
    year_1 = datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC)
    Alert.objects.update(starts_at=year_1)

    alerts_process_pending(integration_id=alertmanager.integration.pk)

    assert Incident.objects.get().started_at.year == 2000
