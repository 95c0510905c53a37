"""Time to acknowledge and time to resolve as Prometheus histograms, by severity, on /metrics.

Read at scrape time (ops.metrics.register_collector) in one aggregate query. Each histogram
counts every non-drill incident ever acknowledged (resp. resolved), not a recent window: that is
how Prometheus histograms work (cumulative counters that only grow), so that Grafana's
`histogram_quantile(0.5, sum by (le) (increase(..._bucket[30d])))` gives the median of the
incidents acknowledged or resolved in the last 30 days, and `increase(..._sum[30d]) /
increase(..._count[30d])` their mean. Durations follow the report's definitions
(reports.definitions): from the anchor (REPORTS_MTTR_ANCHOR) to the first acknowledgement or the
first resolution, so a reopen does not move an incident to another bucket. Every severity has
its series, zeros included, so a graph does not start at an incident's arrival.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from incidents.models import Incident, Severity
from ops.metrics import register_collector
from reports.definitions import Metric as ReportMetric
from reports.definitions import metrics
from reports.sql import Dialect

# Seconds: 1, 5, 15, 30 minutes; 1, 2, 4, 12, 24 hours.
BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)
MEASURED = ("time_to_acknowledge", "time_to_resolve")


def metric_name(metric: ReportMetric) -> str:
    return f"tocsin_incident_{metric.key}_seconds"


@dataclass
class _Histogram:
    # Incidents per bucket, not yet cumulative: index i is (BUCKETS[i-1], BUCKETS[i]], the
    # last one past the largest bucket.
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def buckets(self) -> list[tuple[str, float]]:
        cumulative: list[tuple[str, float]] = []
        running = 0
        for le, count in zip((*map(floatToGoString, BUCKETS), "+Inf"), self.counts, strict=True):
            running += count
            cumulative.append((le, running))
        return cumulative


def _durations_query(measured: list[ReportMetric]) -> str:
    """Incidents counted by severity and by the pair of buckets their two durations fall in:
    a few hundred rows at most, whatever the number of incidents; a severity without any has
    one row of NULLs. (A COUNT … FILTER per bucket is several times slower over a million.)"""
    sql = Dialect.current()
    # Column names from reports.definitions (model fields), not input.
    durations = ", ".join(
        f"{sql.seconds(metric.end_field, metric.start_field)} AS {metric.key}"
        for metric in measured
    )
    measured_at_all = " OR ".join(f"{metric.end_field} IS NOT NULL" for metric in measured)
    buckets = ", ".join(
        f"{sql.bucket_index(metric.key, BUCKETS)} AS {metric.key}_bucket" for metric in measured
    )
    sums = ", ".join(f"SUM({metric.key}) AS {metric.key}_sum" for metric in measured)
    positions = ", ".join(str(n + 2) for n in range(len(measured)))
    return f"""
        SELECT s.name,
               {", ".join(f"c.{metric.key}_bucket" for metric in measured)},
               c.incidents,
               {", ".join(f"c.{metric.key}_sum" for metric in measured)}
        FROM {Severity._meta.db_table} s
        LEFT JOIN (
            SELECT severity_id, {buckets}, COUNT(*) AS incidents, {sums}
            FROM (
                SELECT severity_id, {durations}
                FROM {Incident._meta.db_table}
                WHERE NOT drill AND ({measured_at_all})
            ) durations
            GROUP BY 1, {positions}
        ) c ON c.severity_id = s.id
        ORDER BY s.rank
    """  # noqa: S608


def _duration_rows(measured: list[ReportMetric]) -> list[tuple[Any, ...]]:
    """The query's rows, shared by every web process for REPORTS_METRICS_CACHE_SECONDS: over a
    million incidents the scan takes about a second, and Prometheus may scrape every 15 s from
    two replicas. A histogram a few seconds behind is still cumulative and still right."""
    key = f"reports:duration-histograms:{measured[0].start_field}"
    rows: list[tuple[Any, ...]] | None = cache.get(key)
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(_durations_query(measured))
            rows = cursor.fetchall()
        cache.set(key, rows, settings.REPORTS_METRICS_CACHE_SECONDS)
    return rows


def duration_families() -> Iterator[Metric]:
    measured = [metric for metric in metrics() if metric.key in MEASURED]
    histograms: dict[str, list[_Histogram]] = {}
    rows = _duration_rows(measured)
    width = len(measured)
    for row in rows:
        name, buckets, count, sums = row[0], row[1 : 1 + width], row[1 + width], row[2 + width :]
        severity = histograms.setdefault(name, [_Histogram() for _ in measured])
        for histogram, bucket, total in zip(severity, buckets, sums, strict=True):
            if count is not None and bucket is not None:
                histogram.counts[bucket] += count
                histogram.total += total
    for n, metric in enumerate(measured):
        family = HistogramMetricFamily(
            metric_name(metric),
            f"{metric.label} of incidents, drills aside: {metric.definition} By severity, "
            "over every incident ever measured.",
            labels=["severity"],
        )
        for name, severity in histograms.items():
            family.add_metric([name], severity[n].buckets(), severity[n].total)
        yield family


def connect() -> None:
    register_collector("incident_durations", duration_families)
