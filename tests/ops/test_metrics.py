"""Prometheus metrics at /metrics: request counts, latency and incidents by status."""

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from kombu import Queue
from prometheus_client.parser import text_string_to_metric_families

from incidents import services
from incidents.models import Status
from ops.metrics import DATABASE_COLLECTORS, REGISTRY, register_gauge
from ops.services import heartbeat_record
from tests.factories import declare

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def incident_counts(client) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["status"], dict(labels)["severity"]): value
        for (name, labels), value in scrape(client).items()
        if name == "tocsin_incidents"
    }


def test_metrics_is_served_in_the_prometheus_text_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")


def test_each_request_is_counted_by_method_route_and_status(client):
    labels = {"method": "GET", "view": "ops:healthz", "status": "200"}
    before = sample("tocsin_http_requests_total", **labels)

    client.get("/healthz")
    client.get("/healthz")

    assert sample("tocsin_http_requests_total", **labels) == before + 2


def test_an_error_is_counted_under_its_status(client):
    labels = {"method": "POST", "view": "ops:healthz", "status": "405"}
    before = sample("tocsin_http_requests_total", **labels)

    client.post("/healthz")

    assert sample("tocsin_http_requests_total", **labels) == before + 1


def test_unmatched_paths_share_one_label(client):
    labels = {"method": "GET", "view": "unmatched", "status": "404"}
    before = sample("tocsin_http_requests_total", **labels)

    client.get("/no-such-page-1")
    client.get("/no-such-page-2")

    assert sample("tocsin_http_requests_total", **labels) == before + 2


def test_request_latency_is_observed_in_the_histogram(client):
    labels = {"method": "GET", "view": "ops:healthz"}
    count_before = sample("tocsin_http_request_duration_seconds_count", **labels)
    slowest_before = sample("tocsin_http_request_duration_seconds_bucket", **labels, le="+Inf")

    client.get("/healthz")

    assert sample("tocsin_http_request_duration_seconds_count", **labels) == count_before + 1
    assert sample("tocsin_http_request_duration_seconds_bucket", **labels, le="+Inf") == (
        slowest_before + 1
    )


def test_the_scrape_exposes_request_counts_and_the_latency_histogram(client):
    client.get("/healthz")

    names = {name for name, _ in scrape(client)}

    assert "tocsin_http_requests_total" in names
    assert "tocsin_http_request_duration_seconds_bucket" in names
    assert "tocsin_http_request_duration_seconds_sum" in names


def test_incidents_are_counted_by_status_and_severity(client, responder):
    declare(responder, severity_name="SEV1")
    declare(responder, severity_name="SEV1")
    declare(responder, severity_name="SEV2")
    resolved = declare(responder, severity_name="SEV2")
    services.incident_resolve(incident=resolved, actor=responder)
    identified = declare(responder, severity_name="SEV3")
    services.incident_set_status(incident=identified, actor=responder, status=Status.IDENTIFIED)

    assert incident_counts(client) == {
        ("detected", "SEV1"): 2,
        ("detected", "SEV2"): 1,
        ("resolved", "SEV2"): 1,
        ("identified", "SEV3"): 1,
    }


def test_incident_counts_follow_changes_between_scrapes(client, responder):
    incident = declare(responder, severity_name="SEV2")
    assert incident_counts(client) == {("detected", "SEV2"): 1}

    services.incident_acknowledge(incident=incident, actor=responder)

    assert incident_counts(client) == {("acknowledged", "SEV2"): 1}


def test_no_incidents_exposes_no_incident_series(client):
    assert incident_counts(client) == {}


def test_without_a_token_configured_metrics_is_open(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Token s3cret-scrape-token", "Bearer", "s3cret-scrape-token"],
)
def test_with_a_token_configured_metrics_refuses_anything_else_with_401(
    client, settings, authorization
):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"tocsin_http_requests_total" not in response.content


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_with_a_token_configured_metrics_answers_the_bearer_of_it(client, settings, scheme):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    response = client.get("/metrics", headers={"Authorization": f"{scheme} s3cret-scrape-token"})

    assert response.status_code == 200
    assert b"tocsin_http_requests_total" in response.content


def test_in_production_metrics_stay_closed_until_a_token_is_set(client, settings):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "set METRICS_TOKEN" in response.json()["detail"]
    assert b"tocsin_http_requests_total" not in response.content


def test_in_production_metrics_answer_the_bearer_of_the_token(client, settings):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})

    assert response.status_code == 200


def test_each_scrape_time_collector_reports_itself_up(client):
    samples = scrape(client)

    for collector in ("incidents", "heartbeats", "queues"):
        assert samples[("tocsin_metrics_collector_up", (("collector", collector),))] == 1


def test_a_gauge_an_app_registers_is_read_at_each_scrape_and_reported_up(client, monkeypatch):
    monkeypatch.setattr("ops.metrics.DATABASE_COLLECTORS", dict(DATABASE_COLLECTORS))
    depth = [2.0]
    register_gauge(
        "widgets",
        name="tocsin_widgets",
        documentation="Widgets by colour.",
        labels=("colour",),
        read=lambda: [(("blue",), depth[0])],
    )

    first = scrape(client)
    depth[0] = 5.0
    second = scrape(client)

    assert first[("tocsin_widgets", (("colour", "blue"),))] == 2
    assert second[("tocsin_widgets", (("colour", "blue"),))] == 5
    assert second[("tocsin_metrics_collector_up", (("collector", "widgets"),))] == 1


def test_heartbeat_ages_are_exposed_and_one_never_seen_is_infinite_and_stale(client):
    heartbeat_record(
        kind="queue", name="paging", hostname="pager@a", now=timezone.now() - timedelta(seconds=90)
    )

    samples = scrape(client)

    paging = (("kind", "queue"), ("name", "paging"))
    assert 90 <= samples[("tocsin_heartbeat_age_seconds", paging)] < 120
    assert samples[("tocsin_heartbeat_stale", paging)] == 1
    beat = (("kind", "beat"), ("name", "beat"))
    assert samples[("tocsin_heartbeat_age_seconds", beat)] == float("inf")
    assert samples[("tocsin_heartbeat_stale", beat)] == 1


def test_a_fresh_heartbeat_is_not_stale(client):
    heartbeat_record(kind="queue", name="celery", hostname="worker@a")

    samples = scrape(client)

    celery = (("kind", "queue"), ("name", "celery"))
    assert samples[("tocsin_heartbeat_age_seconds", celery)] < 5
    assert samples[("tocsin_heartbeat_stale", celery)] == 0


def test_queue_lengths_count_the_tasks_waiting_in_each_queue(client, settings, tmp_path):
    # A broker of the test's own (kombu's filesystem transport), so the count is exact.
    folder = tmp_path / "broker"
    folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder),
    }
    app = current_app._get_current_object()
    with app.connection_for_write() as conn, conn.Producer() as producer:
        for _ in range(3):
            producer.publish({"n": 1}, routing_key="paging", declare=[Queue("paging")])

    samples = scrape(client)

    assert samples[("tocsin_queue_length", (("queue", "paging"),))] == 3
    assert samples[("tocsin_queue_length", (("queue", "celery"),))] == 0
