"""Time to acknowledge and to resolve as gauge histograms on /metrics, over the incidents
declared in the last 30 days (reports.prometheus)."""

import logging
import sqlite3
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from incidents import services
from incidents.models import Severity
from ops.metrics import DATABASE_COLLECTORS
from reports.prometheus import BUCKETS, duration_families
from reports.sql import Dialect
from tests.factories import declare

pytestmark = pytest.mark.django_db

TTA = "tocsin_incident_time_to_acknowledge_seconds"
TTR = "tocsin_incident_time_to_resolve_seconds"
LES = ("60.0", "300.0", "900.0", "1800.0", "3600.0", "7200.0", "14400.0", "43200.0", "86400.0")


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def histogram(samples, name: str, severity: str) -> tuple[list[float], float, float]:
    """The cumulative bucket counts (le 60 … 86400, then +Inf), the sum and the count (a gauge
    histogram's _gsum and _gcount)."""
    buckets = [
        samples[(f"{name}_bucket", (("le", le), ("severity", severity)))] for le in (*LES, "+Inf")
    ]
    labels = (("severity", severity),)
    return buckets, samples[(f"{name}_gsum", labels)], samples[(f"{name}_gcount", labels)]


def incident(clock, responder, *, severity="SEV1", ack: float | None, resolve=None, **kwargs):
    """Declared (and detected) now; acknowledged, then resolved, so many seconds later."""
    made = declare(responder, severity_name=severity, **kwargs)
    start = clock.now
    if ack is not None:
        clock.now = start + timedelta(seconds=ack)
        services.incident_acknowledge(incident=made, actor=responder)
    if resolve is not None:
        clock.now = start + timedelta(seconds=resolve)
        services.incident_resolve(incident=made, actor=responder)
    clock.now = start
    return made


def test_time_to_acknowledge_and_resolve_are_histograms_by_severity(client, clock, responder):
    incident(clock, responder, ack=45, resolve=3000)
    incident(clock, responder, ack=600, resolve=10800)
    incident(clock, responder, ack=120)  # still open: acknowledged, not resolved
    incident(clock, responder, severity="SEV2", ack=None, resolve=108000)  # resolving acks

    samples = scrape(client)

    assert histogram(samples, TTA, "SEV1") == ([1, 2, 3, 3, 3, 3, 3, 3, 3, 3], 765, 3)
    assert histogram(samples, TTR, "SEV1") == ([0, 0, 0, 0, 1, 1, 2, 2, 2, 2], 13800, 2)
    assert histogram(samples, TTA, "SEV2") == ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 108000, 1)
    assert histogram(samples, TTR, "SEV2") == ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 108000, 1)


def test_a_severity_without_incidents_has_its_series_at_zero(client):
    samples = scrape(client)

    for name in (TTA, TTR):
        assert histogram(samples, name, "SEV4") == ([0] * 10, 0, 0)


def test_drills_are_left_out(client, clock, responder):
    incident(clock, responder, ack=30, resolve=40, drill=True)
    incident(clock, responder, ack=400, resolve=500)

    samples = scrape(client)

    assert histogram(samples, TTA, "SEV1") == ([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 400, 1)
    assert histogram(samples, TTR, "SEV1") == ([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 500, 1)


def test_duplicates_merged_into_another_are_left_out(client, clock, responder):
    """A merge resolves the duplicate then: a time nobody took to resolve it."""
    survivor = incident(clock, responder, ack=30)
    duplicate = incident(clock, responder, ack=None)
    clock.now += timedelta(seconds=20000)
    services.incident_merge(incident=duplicate, into=survivor, actor=responder)
    clock.now += timedelta(seconds=1000)
    services.incident_resolve(incident=survivor, actor=responder)

    samples = scrape(client)

    assert histogram(samples, TTA, "SEV1") == ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 30, 1)
    assert histogram(samples, TTR, "SEV1") == ([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], 21000, 1)


def test_only_the_incidents_declared_in_the_last_30_days_are_measured(client, clock, responder):
    now = clock.now
    # Declared 31 days ago, resolved yesterday: out, though its resolution is recent.
    clock.now = now - timedelta(days=31)
    old = incident(clock, responder, ack=100)
    clock.now = now - timedelta(days=1)
    services.incident_resolve(incident=old, actor=responder)
    # Declared 29 days ago, resolved within the hour: in.
    clock.now = now - timedelta(days=29)
    incident(clock, responder, ack=1000, resolve=2000)
    clock.now = now

    samples = scrape(client)

    assert histogram(samples, TTA, "SEV1") == ([0, 0, 0, 1, 1, 1, 1, 1, 1, 1], 1000, 1)
    assert histogram(samples, TTR, "SEV1") == ([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 2000, 1)


def test_an_incident_leaves_the_window_30_days_after_its_declaration(client, clock, responder):
    incident(clock, responder, ack=45, resolve=3000)
    clock.now += timedelta(days=30)
    at_30_days = histogram(scrape(client), TTR, "SEV1")
    cache.clear()  # as after REPORTS_METRICS_CACHE_SECONDS
    clock.now += timedelta(seconds=1)
    after = histogram(scrape(client), TTR, "SEV1")

    assert at_30_days == ([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 3000, 1)
    assert after == ([0] * 10, 0, 0)


def test_a_severity_change_moves_the_incident_from_one_series_to_the_other(
    client, clock, responder
):
    """A gauge histogram's buckets may go down: Prometheus reads no counter reset in that."""
    made = incident(clock, responder, ack=45, resolve=3000)
    before = scrape(client)
    clock.now += timedelta(hours=2)
    services.incident_set_severity(
        incident=made, actor=responder, severity=Severity.objects.get(name="SEV2")
    )
    cache.clear()  # as after REPORTS_METRICS_CACHE_SECONDS
    after = scrape(client)

    assert histogram(before, TTR, "SEV1") == ([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 3000, 1)
    assert histogram(before, TTR, "SEV2") == ([0] * 10, 0, 0)
    assert histogram(after, TTR, "SEV1") == ([0] * 10, 0, 0)
    assert histogram(after, TTR, "SEV2") == ([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 3000, 1)


def test_a_reopen_keeps_the_first_resolution(client, clock, responder):
    made = incident(clock, responder, ack=30, resolve=200)
    clock.now += timedelta(seconds=1000)
    services.incident_reopen(incident=made, actor=responder)
    clock.now += timedelta(seconds=1000)
    services.incident_resolve(incident=made, actor=responder)

    samples = scrape(client)

    assert histogram(samples, TTR, "SEV1") == ([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], 200, 1)


def test_durations_run_from_the_configured_anchor(client, clock, responder, settings):
    # Impact began 10 minutes before detection; acknowledged 45 s after detection.
    incident(clock, responder, ack=45, started_at=clock.now - timedelta(minutes=10))

    detected = histogram(scrape(client), TTA, "SEV1")
    settings.REPORTS_MTTR_ANCHOR = "started"
    started = histogram(scrape(client), TTA, "SEV1")

    assert detected == ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 45, 1)
    assert started == ([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 645, 1)


def test_the_histograms_say_what_they_measure(client):
    families = {
        family.name: family
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
    }

    # Prometheus' text format has no gauge histogram: its buckets read as a histogram's, its
    # sum and count as gauges of their own.
    assert families[TTR].type == "histogram"
    assert families[f"{TTR}_gsum"].type == families[f"{TTR}_gcount"].type == "gauge"
    assert f"{TTR}_sum" not in families
    assert "From detection to the first resolution" in families[TTR].documentation
    assert "declared in the last 30 days" in families[TTR].documentation
    assert "drills and merged duplicates aside" in families[TTA].documentation


def test_the_histograms_are_gauge_histograms(db):
    assert [family.type for family in duration_families()] == ["gaugehistogram"] * 2


def test_the_collector_reports_itself_up(client):
    samples = scrape(client)

    assert samples[("tocsin_metrics_collector_up", (("collector", "incident_durations"),))] == 1


def test_the_histograms_are_served_with_redis_down(client, clock, responder, redis_refused, caplog):
    """The cache only saves work: without it each scrape runs the query."""
    incident(clock, responder, ack=45, resolve=3000)

    with caplog.at_level(logging.WARNING, logger="reports.prometheus"):
        samples = scrape(client)

    assert histogram(samples, TTR, "SEV1") == ([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 3000, 1)
    assert histogram(samples, TTA, "SEV4") == ([0] * 10, 0, 0)
    assert samples[("tocsin_metrics_collector_up", (("collector", "incident_durations"),))] == 1
    assert [r.levelno for r in caplog.records if r.name == "reports.prometheus"] == [
        logging.WARNING
    ]


def data_queries(captured: CaptureQueriesContext) -> list[str]:
    """What the scrape asked the database, without each collector's time limit around it
    (a savepoint and a statement_timeout, ops.postgresql.deadline)."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if "SAVEPOINT" not in query["sql"] and "statement_timeout" not in query["sql"]
    ]


def test_the_histograms_cost_the_scrape_one_query(client, clock, responder, monkeypatch):
    incident(clock, responder, ack=45, resolve=3000)
    with CaptureQueriesContext(connection) as with_histograms:
        client.get("/metrics")
    without = {k: v for k, v in DATABASE_COLLECTORS.items() if k != "incident_durations"}
    monkeypatch.setattr("ops.metrics.DATABASE_COLLECTORS", without)
    with CaptureQueriesContext(connection) as without_histograms:
        client.get("/metrics")

    assert len(data_queries(with_histograms)) - len(data_queries(without_histograms)) == 1


def test_scrapes_share_the_query_for_a_while(client, clock, responder, settings):
    """A month of a large organisation's incidents is a third of a second; Prometheus scrapes
    every 15 s."""
    settings.REPORTS_METRICS_CACHE_SECONDS = 30
    incident(clock, responder, ack=45, resolve=3000)
    assert histogram(scrape(client), TTR, "SEV1")[2] == 1
    incident(clock, responder, ack=45, resolve=3000)

    with CaptureQueriesContext(connection) as again:
        assert histogram(scrape(client), TTR, "SEV1")[2] == 1
    assert not [sql for sql in data_queries(again) if "time_to_resolve_bucket" in sql]

    cache.clear()  # as after REPORTS_METRICS_CACHE_SECONDS
    assert histogram(scrape(client), TTR, "SEV1")[2] == 2


@pytest.mark.parametrize("incidents", [1, 5])
def test_the_query_does_not_grow_with_the_incidents(clock, responder, incidents):
    for n in range(incidents):
        incident(clock, responder, ack=10 * n, resolve=100 * n + 1)

    with CaptureQueriesContext(connection) as queries:
        families = list(duration_families())

    assert len(queries) == 1
    assert [family.name for family in families] == [TTA, TTR]


@pytest.mark.parametrize(
    ("seconds", "index"),
    [("-5", 0), ("45", 0), ("60", 0), ("60.5", 1), ("86400", 8), ("86401", 9), ("NULL", None)],
)
def test_a_duration_falls_in_the_first_bucket_it_is_at_most_on_both_databases(seconds, index):
    if connection.vendor != "postgresql":
        pytest.skip("compares PostgreSQL's spelling with SQLite's")
    value = f"CAST({seconds} AS FLOAT)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {Dialect('postgresql').bucket_index(value, BUCKETS)}")
        [on_postgresql] = cursor.fetchone()
    sqlite = sqlite3.connect(":memory:")
    [on_sqlite] = sqlite.execute(
        f"SELECT {Dialect('sqlite').bucket_index(value, BUCKETS)}"
    ).fetchone()

    assert on_postgresql == on_sqlite == index
