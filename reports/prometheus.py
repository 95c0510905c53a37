"""Time to acknowledge and time to resolve as Prometheus gauge histograms, by severity, on
/metrics, over the incidents declared in the last 30 days.

Read at scrape time (ops.metrics.register_collector) in one aggregate query. Each histogram
counts the incidents declared in the last WINDOW (drills and duplicates merged into another
aside) that have been acknowledged (resp. resolved). It is an OpenMetrics gauge histogram, not
a cumulative one: its buckets may go down, as an incident leaves the window, is marked a drill,
is merged, or changes severity after it was measured. (The all-time cumulative histogram it
replaces went down too when an incident was marked a drill, merged or moved to another severity,
and Prometheus took each fall for a counter reset, which broke increase().) So no increase():
`histogram_quantile(0.5, sum by (le) (tocsin_incident_time_to_resolve_seconds_bucket))` is the
median time to resolve of the last 30 days' incidents, and `sum(…_gsum) / sum(…_gcount)` their
mean. In Prometheus' text format a gauge histogram reads as `# TYPE … histogram` with its
_bucket series, and its sum and count as the gauges _gsum and _gcount.

Durations follow the report's definitions (reports.definitions): from the anchor
(REPORTS_MTTR_ANCHOR) to the first acknowledgement or the first resolution, so a reopen does
not move an incident to another bucket. Every severity has its series, zeros included, so a
graph does not start at an incident's arrival.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from prometheus_client.core import GaugeHistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from redis.exceptions import RedisError

from incidents.models import Incident, Severity
from ops.metrics import register_collector
from reports.definitions import Metric as ReportMetric
from reports.definitions import metrics
from reports.sql import Dialect

logger = logging.getLogger(__name__)

# Seconds: 1, 5, 15, 30 minutes; 1, 2, 4, 12, 24 hours.
BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)
MEASURED = ("time_to_acknowledge", "time_to_resolve")
# The incidents measured: those declared this long ago at most (the incident_declared index).
WINDOW = timedelta(days=30)
# What a cache that is down raises: Redis refusing or timing out; without REDIS_URL, the file
# cache's disk.
CACHE_ERRORS = (RedisError, OSError)


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
    one row of NULLs. (A COUNT … FILTER per bucket is several times slower over a million.)
    Its one parameter, %(since)s, is where the window starts."""
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
    # The same incidents as the report's figures (reports.selectors.counted): a merge resolves
    # the duplicate at the merge, a time no one took to resolve it.
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
                WHERE declared_at >= %(since)s
                  AND NOT drill
                  AND merged_into_id IS NULL
                  AND ({measured_at_all})
            ) durations
            GROUP BY 1, {positions}
        ) c ON c.severity_id = s.id
        ORDER BY s.rank
    """  # noqa: S608


def _query_rows(measured: list[ReportMetric]) -> list[tuple[Any, ...]]:
    since = Dialect.current().when(timezone.now() - WINDOW)
    with connection.cursor() as cursor:
        cursor.execute(_durations_query(measured), {"since": since})
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _duration_rows(measured: list[ReportMetric]) -> list[tuple[Any, ...]]:
    """The query's rows, shared by every web process for REPORTS_METRICS_CACHE_SECONDS: over the
    benchmark's million incidents, the window's 40,000 take about a third of a second, and
    Prometheus may scrape every 15 s from two replicas. A histogram a few seconds behind is
    still right for its window.

    With the cache down, each scrape runs the query: slower, but /metrics still answers (the
    scrape collector reports only the database's failures)."""
    key = f"reports:duration-histograms:{measured[0].start_field}"
    try:
        rows: list[tuple[Any, ...]] | None = cache.get(key)
    except CACHE_ERRORS as error:
        # Not set afterwards either: a second call to a cache that is down may cost a timeout.
        logger.warning("metrics: incident durations read from the database: %s", error)
        return _query_rows(measured)
    if rows is None:
        rows = _query_rows(measured)
        try:
            cache.set(key, rows, settings.REPORTS_METRICS_CACHE_SECONDS)
        except CACHE_ERRORS as error:
            logger.warning("metrics: incident durations not cached: %s", error)
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
        family = GaugeHistogramMetricFamily(
            metric_name(metric),
            f"{metric.label} of the incidents declared in the last {WINDOW.days} days, drills "
            f"and merged duplicates aside: {metric.definition} By severity; a gauge "
            "histogram (buckets go down as incidents leave the window): no increase().",
            labels=["severity"],
        )
        for name, severity in histograms.items():
            family.add_metric([name], severity[n].buckets(), severity[n].total)
        yield family


def connect() -> None:
    register_collector("incident_durations", duration_families)
