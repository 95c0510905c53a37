from collections.abc import Iterator
from typing import Any

from django.db.models import Count
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

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


class IncidentCollector:
    """Incidents by status and severity, counted by the database at scrape time."""

    def collect(self) -> Iterator[Any]:
        from incidents.models import Incident

        family = GaugeMetricFamily(
            "tocsin_incidents", "Incidents by status and severity.", labels=["status", "severity"]
        )
        rows = Incident.objects.values("status", "severity__name").annotate(n=Count("id"))
        for row in rows.order_by():
            family.add_metric([row["status"], row["severity__name"]], row["n"])
        yield family


REGISTRY.register(IncidentCollector())
