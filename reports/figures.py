"""The aggregates behind a Distribution, and the rows they come back in.

Each metric is four aggregates over one duration expression (Seconds(end, start)), so a single
GROUP BY query gives every metric of every group; a `condition` (filter=) lets one query carry
several windows side by side (this month and the previous one). NULL durations (an end never
reached: still open, never acknowledged, never mitigated) are ignored by every aggregate, which
is what makes them the "left out".
"""

from collections.abc import Mapping
from typing import Any

from django.db.models import Aggregate, Avg, Count, FloatField, Max, Q, Value
from django.db.models.functions import Cast

from reports.aggregates import Percentile, Seconds
from reports.definitions import Metric
from reports.report import EMPTY, Distribution

MEDIAN, P90 = 0.5, 0.9


def seconds(metric: Metric) -> Seconds:
    return Seconds(metric.end_field, metric.start_field)


class NoFigure(Cast):
    """A typed NULL for a figure a query does not compute, where a UNION needs its column:
    typed so PostgreSQL matches it with the figures of the other branches, and a constant, so
    never grouped by (a GROUP BY would leave a month without incidents without its row)."""

    def __init__(self) -> None:
        super().__init__(Value(None), FloatField())

    def get_group_by_cols(self) -> list[Any]:
        return []


def metric_aggregates(
    metrics: list[Metric], *, condition: Q | None = None, prefix: str = ""
) -> dict[str, Aggregate]:
    """n, mean, median, p90 and max of each metric over the rows `condition` keeps, named
    `{prefix}{metric.key}_{figure}`."""
    aggregates: dict[str, Aggregate] = {}
    for metric in metrics:
        duration = seconds(metric)
        name = f"{prefix}{metric.key}"
        # The start times are never NULL: what the end is, the duration is.
        aggregates[f"{name}_n"] = Count(metric.end_field, filter=condition)
        aggregates[f"{name}_mean"] = Avg(duration, filter=condition)
        aggregates[f"{name}_median"] = Percentile(duration, MEDIAN, filter=condition)
        aggregates[f"{name}_p90"] = Percentile(duration, P90, filter=condition)
        aggregates[f"{name}_max"] = Max(duration, filter=condition)
    return aggregates


def as_seconds(value: Any) -> float | None:
    """A duration from the database as seconds, to the millisecond: SQLite's julianday()
    arithmetic is off by some microseconds, and a Decimal (numeric) becomes a float."""
    return None if value is None else round(float(value), 3)


def distribution(row: Mapping[str, Any], key: str, *, counted: int) -> Distribution:
    """`key`'s figures from a row metric_aggregates filled; `counted` is how many incidents
    the row is about, so the ones the metric could not measure are the difference."""
    n = row[f"{key}_n"] or 0
    return Distribution(
        n=n,
        left_out=counted - n,
        mean=as_seconds(row[f"{key}_mean"]),
        median=as_seconds(row[f"{key}_median"]),
        p90=as_seconds(row[f"{key}_p90"]),
        max=as_seconds(row[f"{key}_max"]),
    )


def distributions(
    row: Mapping[str, Any], metrics: list[Metric], *, counted: int, prefix: str = ""
) -> dict[str, Distribution]:
    """Every metric's Distribution from a row, keyed by Metric.key."""
    return {
        metric.key: distribution(row, f"{prefix}{metric.key}", counted=counted)
        for metric in metrics
    }


def empty_distributions(metrics: list[Metric]) -> dict[str, Distribution]:
    return {metric.key: EMPTY for metric in metrics}
