"""Prometheus metrics: request counters kept by each process, and figures read at scrape time.

Counters and histograms live in REGISTRY; under gunicorn they are also written to
PROMETHEUS_MULTIPROC_DIR (config/gunicorn.py), so a scrape adds up every worker's. Figures read
at scrape time (heartbeats, queue lengths, and what the apps register: incidents) come from
scrape collectors, run once per scrape by the process that answers it, so they are never
multiplied by the number of workers. A scrape collector that fails (the database or the broker
is down) is reported down by `tocsin_metrics_collector_up` and the scrape still serves
everything else.

This module knows no domain app: an app adds its figures with `register_gauge` in its
AppConfig.ready(), as incidents does for `tocsin_incidents`, or with `register_collector` for
other families (reports' histograms of incident durations).
"""

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "tocsin_http_requests_total",
    "HTTP requests answered.",
    ["method", "view", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "tocsin_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "view"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe_request(*, method: str, view: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method=method, view=view, status=str(status)).inc()
    LATENCY.labels(method=method, view=view).observe(seconds)


def heartbeat_families() -> Iterator[Metric]:
    from ops.selectors import heartbeats_status

    age = GaugeMetricFamily(
        "tocsin_heartbeat_age_seconds",
        "Seconds since beat, or a worker of each queue, was last seen (+Inf: never).",
        labels=["kind", "name"],
    )
    stale = GaugeMetricFamily(
        "tocsin_heartbeat_stale",
        "1 when the heartbeat is older than HEARTBEAT_STALE_AFTER: nothing serves it.",
        labels=["kind", "name"],
    )
    for heartbeat in heartbeats_status(now=timezone.now()):
        labels = [heartbeat.kind, heartbeat.name]
        age.add_metric(labels, heartbeat.age_seconds)
        stale.add_metric(labels, 0 if heartbeat.fresh else 1)
    yield age
    yield stale


def queue_families() -> Iterator[Metric]:
    from ops.selectors import queue_lengths

    family = GaugeMetricFamily(
        "tocsin_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
    )
    for queue, length in queue_lengths().items():
        family.add_metric([queue], length)
    yield family


Families = Callable[[], Iterable[Metric]]
# One gauge's samples: each sample's label values, in the gauge's label order, and its value.
GaugeRead = Callable[[], Iterable[tuple[Sequence[str], float]]]

# Read at scrape time, in this order; the database ones stop at the first that finds the
# database unreachable, so a scrape during an outage costs one timeout, not one per collector.
DATABASE_COLLECTORS: dict[str, Families] = {"heartbeats": heartbeat_families}
BROKER_COLLECTORS: dict[str, Families] = {"queues": queue_families}


def register_gauge(
    collector: str, *, name: str, documentation: str, labels: Sequence[str], read: GaugeRead
) -> None:
    """Serve a gauge read from the database at each scrape, reported up or down as `collector`.

    Called from an AppConfig.ready(); registering a collector again replaces it (ready() may
    run again). `read` runs under METRICS_COLLECTOR_TIMEOUT: one aggregate query, not a loop.
    """

    def families() -> Iterator[Metric]:
        family = GaugeMetricFamily(name, documentation, labels=list(labels))
        for values, value in read():
            family.add_metric(list(values), value)
        yield family

    register_collector(collector, families)


def register_collector(collector: str, families: Families) -> None:
    """Serve the metric families `families()` reads from the database at each scrape (e.g. a
    HistogramMetricFamily), reported up or down as `collector`; as register_gauge, from an
    AppConfig.ready(), replacing one registered before, under METRICS_COLLECTOR_TIMEOUT."""
    DATABASE_COLLECTORS[collector] = families


class ScrapeCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from ops.postgresql.base import deadline
        from ops.selectors import BrokerUnavailable

        up = GaugeMetricFamily(
            "tocsin_metrics_collector_up",
            "1 when a scrape-time collector answered; 0 when it failed (see the log).",
            labels=["collector"],
        )
        database_down = False
        for name, families in DATABASE_COLLECTORS.items():
            if database_down:
                up.add_metric([name], 0)
                continue
            try:
                with deadline(settings.METRICS_COLLECTOR_TIMEOUT):
                    collected = list(families())
            except DatabaseError:
                logger.warning("metrics: the %s collector failed", name, exc_info=True)
                database_down = True
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
                yield from collected
        for name, families in BROKER_COLLECTORS.items():
            try:
                collected = list(families())
            except BrokerUnavailable as exc:
                logger.warning("metrics: the %s collector failed: %s", name, exc)
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
                yield from collected
        yield up


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def scrape_registry() -> CollectorRegistry:
    """Every metric a scrape serves: all processes' counters and the scrape-time figures."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(ScrapeCollector())
    return registry


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Any]:
        return self.source.collect()
