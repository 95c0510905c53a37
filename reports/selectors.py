"""Reads for the monthly report: the month's counts and figures, overall and by group, and the
trend. Each function is one query (two for severities and services) whatever the number of
incidents, services or teams; the database aggregates, Python only arranges the rows (a row
per month, severity, team or service) that come back.

Which incidents count (the report states it): those that started in the month, in the
organisation's zone. Drills are left out and counted as such. An incident merged into another
is a duplicate of it, so it is left out too (counted as merged): the incident it was merged into
carries the figures (a merged drill counts as a drill). Open incidents count in every total; a
duration they have not reached is left out of that metric's figures (Distribution.left_out).
"""

import operator
from collections import Counter
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any

from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from incidents.models import OPEN_STATUSES, Incident, Severity
from reports import selectors_postgres
from reports.definitions import Anchor, Metric
from reports.figures import (
    NoFigure,
    distribution,
    distributions,
    empty_distributions,
    metric_aggregates,
)
from reports.months import Month, organisation_zone
from reports.report import Count as Counted
from reports.report import GroupFigures, MetricFigures, TrendPoint
from reports.sql import Dialect

NO_SERVICE = "No service"
NO_TEAM = "No team"
NO_CAUSE = "Not recorded"
# Private incidents' cause categories, counted together: a category only a private incident has
# would say what happened to it to every reader of the report.
PRIVATE_CAUSES = "Private incidents"

# The rules above and by_severity's within_target, in words a page can print next to them.
COUNTING = (
    "Incidents that started in the month, in the organisation's time zone ({zone}). Drills and "
    "incidents merged into another are left out, and counted apart. Open incidents count in "
    "the totals, and are left out of any time they have not reached yet."
)
WITHIN_TARGET = "Acknowledged within the severity's response target, counted from {anchor}."


def started_in(first: Month, last: Month | None = None, *, through: str = "") -> Q:
    """Incidents that started from `first`'s start to `last`'s end (`first` alone: that
    month). `through` reaches them from another model ("incident__")."""
    zone = organisation_zone()
    return Q(
        **{
            f"{through}started_at__gte": first.start(zone),
            f"{through}started_at__lt": (last or first).end(zone),
        }
    )


def counted(*, through: str = "") -> Q:
    """The incidents the figures are about: neither drills nor merged into another."""
    return Q(**{f"{through}drill": False, f"{through}merged_into__isnull": True})


def _open() -> Q:
    return Q(status__in=OPEN_STATUSES)


def _month(month: Month) -> QuerySet[Incident]:
    return Incident.objects.filter(started_in(month), counted())


# The trend: the twelve months before the report's and its own.
TREND_MONTHS = 12


@dataclass(frozen=True)
class MonthTotals:
    incidents: int
    open: int
    reopened_incidents: int
    reopens: int
    previous_incidents: int
    overall: list[MetricFigures]
    trend: list[TrendPoint]


def _columns(metrics: list[Metric], measured: list[Metric], *, counts: bool) -> dict[str, Any]:
    """One month's aggregates: `measured`'s figures, the other metrics' as typed NULLs, and
    the counts (or zeros), always in the same order, as every branch of a UNION must be."""
    columns: dict[str, Any] = {"n_incidents": Count("pk")}
    if counts:
        columns |= {
            "n_open": Count("pk", filter=_open()),
            "n_reopened": Count("pk", filter=Q(reopen_count__gt=0)),
            "n_reopens": Sum("reopen_count", default=0),
        }
    else:
        columns |= {name: Value(0) for name in ("n_open", "n_reopened", "n_reopens")}
    for metric in metrics:
        if metric in measured:
            columns |= metric_aggregates([metric])
        else:
            columns[f"{metric.key}_n"] = Value(0)
            columns |= {
                f"{metric.key}_{figure}": NoFigure() for figure in ("mean", "median", "p90", "max")
            }
    return columns


def month_totals(month: Month, metrics: list[Metric], *, trend_metric: Metric) -> MonthTotals:
    """The month's counts and every metric, the same for the month before, and the trend
    (incidents and `trend_metric` for TREND_MONTHS months and this one, oldest first), in one
    query: a UNION ALL of one aggregate per month.

    Each month reads its range of the started_at index and sorts only its own durations for
    the percentiles (a GROUP BY month would sort every row of every month first), and a month
    without incidents still has its row, of zeros.
    """
    points = trend_points(month)
    overall = (month, month.previous())
    branches: list[QuerySet[Any, Any]] = [
        _month(point)
        .order_by()
        .values(bucket=Value(index, output_field=IntegerField()))
        .annotate(
            **_columns(
                metrics,
                metrics if point in overall else [trend_metric],
                counts=point in overall,
            )
        )
        for index, point in enumerate(points)
    ]
    months = branches[0].union(*branches[1:], all=True).order_by()
    return totals_from_rows(
        month, {points[row["bucket"]]: row for row in months}, metrics, trend_metric=trend_metric
    )


def trend_points(month: Month) -> list[Month]:
    """The TREND_MONTHS months before `month` and `month`, oldest first."""
    return [month.minus(back) for back in range(TREND_MONTHS, -1, -1)]


def totals_from_rows(
    month: Month, rows: dict[Month, dict[str, Any]], metrics: list[Metric], *, trend_metric: Metric
) -> MonthTotals:
    """MonthTotals from a row per month of trend_points(): counts and figures (every metric's
    for `month` and the one before it, `trend_metric`'s for the others)."""
    this, previous = rows[month], rows[month.previous()]
    return MonthTotals(
        incidents=this["n_incidents"],
        open=this["n_open"],
        reopened_incidents=this["n_reopened"],
        reopens=this["n_reopens"],
        previous_incidents=previous["n_incidents"],
        overall=[
            MetricFigures(
                metric=metric,
                this_month=distribution(this, metric.key, counted=this["n_incidents"]),
                previous_month=distribution(previous, metric.key, counted=previous["n_incidents"]),
            )
            for metric in metrics
        ],
        trend=[
            TrendPoint(
                point,
                rows[point]["n_incidents"],
                distribution(rows[point], trend_metric.key, counted=rows[point]["n_incidents"]),
            )
            for point in trend_points(month)
        ],
    )


@dataclass(frozen=True)
class MonthFigures:
    totals: MonthTotals
    by_severity: list[GroupFigures]
    by_team: list[GroupFigures]


def month_figures(
    month: Month, metrics: list[Metric], anchor: Anchor, *, trend_metric: Metric, side: "SideCounts"
) -> MonthFigures:
    """month_totals, by_severity and by_team, the same figures: on PostgreSQL in three queries
    (the severities, then two of reports.selectors_postgres), on SQLite in the ORM's four."""
    if not Dialect.current().postgres:
        return MonthFigures(
            totals=month_totals(month, metrics, trend_metric=trend_metric),
            by_severity=by_severity(month, metrics, anchor, previous=side.previous_by_severity),
            by_team=by_team(month, metrics, previous=side.previous_by_team),
        )
    severities = list(Severity.objects.order_by("rank"))
    overall, severity_rows, team_rows = selectors_postgres.this_month(
        month, metrics, anchor, severities
    )
    points = trend_points(month)
    rows = selectors_postgres.months_before(
        points[:-1], metrics, measured=month.previous(), trend_metric=trend_metric
    )
    return MonthFigures(
        totals=totals_from_rows(month, rows | {month: overall}, metrics, trend_metric=trend_metric),
        by_severity=severity_groups(
            severities, severity_rows, metrics, previous=side.previous_by_severity
        ),
        by_team=team_groups(team_rows, metrics, previous=side.previous_by_team),
    )


@dataclass(frozen=True)
class SideCounts:
    """What the figures leave out, and the previous month's counts by severity and team."""

    drills: int
    merged: int
    previous_by_severity: Counter[int]  # Severity pk
    previous_by_team: Counter[int | None]  # Team pk, None: no team


def side_counts(month: Month) -> SideCounts:
    """Counts only, over the month and the one before, so one query: a row per severity and
    team, summed here. (Read from the incidents' started_at index alone: no join.)"""
    this, previous = started_in(month), started_in(month.previous())
    rows = list(
        Incident.objects.filter(started_in(month.previous(), month))
        .values("severity_id", "team_id")
        .order_by()
        .annotate(
            n_previous=Count("pk", filter=previous & counted()),
            n_drills=Count("pk", filter=this & Q(drill=True)),
            n_merged=Count("pk", filter=this & Q(drill=False, merged_into__isnull=False)),
        )
    )
    previous_by_severity: Counter[int] = Counter()
    previous_by_team: Counter[int | None] = Counter()
    for row in rows:
        previous_by_severity[row["severity_id"]] += row["n_previous"]
        previous_by_team[row["team_id"]] += row["n_previous"]
    return SideCounts(
        drills=sum(row["n_drills"] for row in rows),
        merged=sum(row["n_merged"] for row in rows),
        previous_by_severity=previous_by_severity,
        previous_by_team=previous_by_team,
    )


def _grouped(
    month: Month, metrics: list[Metric], *keys: str, **extra: Aggregate
) -> QuerySet[Incident, dict[str, Any]]:
    """One row per value of `keys` among the month's counted incidents: counts and figures."""
    # Typed by hand: the stubs cannot follow annotations passed as **kwargs.
    rows: QuerySet[Incident, dict[str, Any]] = (
        _month(month)
        .values(*keys)
        .order_by()
        .annotate(
            n_incidents=Count("pk"),
            n_open=Count("pk", filter=_open()),
            **extra,
            **metric_aggregates(metrics),
        )
    )
    return rows


def _group(
    name: str,
    row: dict[str, Any],
    metrics: list[Metric],
    *,
    previous: int,
    slug: str | None = None,
) -> GroupFigures:
    return GroupFigures(
        name=name,
        incidents=row["n_incidents"],
        open=row["n_open"],
        figures=distributions(row, metrics, counted=row["n_incidents"]),
        previous_incidents=previous,
        slug=slug or "",
    )


def by_severity(
    month: Month, metrics: list[Metric], anchor: Anchor, *, previous: Counter[int]
) -> list[GroupFigures]:
    """Every severity, most severe first, those without incidents too (with zeros).

    within_target: incidents acknowledged no later than the severity's response target after
    the anchor (the start time to acknowledge is measured from), of those acknowledged.
    """
    severities = list(Severity.objects.order_by("rank"))
    if not severities:
        return []
    # Each severity's target as a literal: no join to the severities for every incident.
    within = reduce(
        operator.or_,
        (
            Q(
                severity_id=severity.pk,
                acknowledged_at__lte=F(anchor.field) + Value(severity.response_target),
            )
            for severity in severities
        ),
    )
    rows = {
        row["severity_id"]: row
        for row in _grouped(month, metrics, "severity_id", n_within=Count("pk", filter=within))
    }
    return severity_groups(severities, rows, metrics, previous=previous)


def severity_groups(
    severities: list[Severity],
    rows: dict[int, dict[str, Any]],
    metrics: list[Metric],
    *,
    previous: Counter[int],
) -> list[GroupFigures]:
    """by_severity's groups from a row per severity id that has incidents (with n_within)."""
    groups = []
    for severity in severities:
        row = rows.get(severity.pk)
        if row is None:
            group = GroupFigures(
                name=severity.name,
                incidents=0,
                open=0,
                figures=empty_distributions(metrics),
                previous_incidents=previous[severity.pk],
            )
        else:
            group = _group(severity.name, row, metrics, previous=previous[severity.pk])
        groups.append(
            replace(
                group,
                response_target=severity.response_target,
                within_target=row["n_within"] if row else 0,
                rank=severity.rank,
            )
        )
    return groups


def _by_count(groups: list[GroupFigures]) -> list[GroupFigures]:
    """Most incidents first, then by name; the group of incidents with none (no service, no
    team) last, as it is no one's to act on."""
    return sorted(groups, key=lambda group: (not group.slug, -group.incidents, group.name))


def by_service(month: Month, metrics: list[Metric]) -> list[GroupFigures]:
    """Services with incidents this month; an incident with two services counts under both,
    one with none under NO_SERVICE. One query on PostgreSQL (reports.selectors_postgres); on
    SQLite two: this month's, the previous month's counts."""
    if Dialect.current().postgres:
        rows = selectors_postgres.by_service(month, metrics)
        previous = {row["services__id"]: row["n_previous"] for row in rows}
        return service_groups(rows, metrics, previous=previous)
    previous = {
        row["services__id"]: row["n"]
        for row in _month(month.previous())
        .values("services__id")
        .order_by()
        .annotate(n=Count("pk"))
    }
    grouped = _grouped(month, metrics, "services__id", "services__name", "services__slug")
    return service_groups(list(grouped), metrics, previous=previous)


def service_groups(
    rows: list[dict[str, Any]], metrics: list[Metric], *, previous: dict[int | None, int]
) -> list[GroupFigures]:
    """by_service's groups from a row per service (services__id, __name, __slug; None for
    incidents without one) with incidents this month, and the previous month's counts."""
    return _by_count(
        [
            _group(
                row["services__name"] or NO_SERVICE,
                row,
                metrics,
                previous=previous.get(row["services__id"], 0),
                slug=row["services__slug"],
            )
            for row in rows
        ]
    )


def by_team(
    month: Month, metrics: list[Metric], *, previous: Counter[int | None]
) -> list[GroupFigures]:
    """Teams with incidents this month, and NO_TEAM for incidents without one."""
    rows = _grouped(month, metrics, "team_id", "team__name", "team__slug")
    return team_groups(list(rows), metrics, previous=previous)


def team_groups(
    rows: list[dict[str, Any]], metrics: list[Metric], *, previous: Counter[int | None]
) -> list[GroupFigures]:
    """by_team's groups from a row per team (team_id, team__name, team__slug) with incidents."""
    return _by_count(
        [
            _group(
                row["team__name"] or NO_TEAM,
                row,
                metrics,
                previous=previous[row["team_id"]],
                slug=row["team__slug"],
            )
            for row in rows
        ]
    )


def cause_categories(month: Month) -> list[Counted]:
    """The month's incidents by cause category, most frequent first; then private incidents,
    whatever their category, as PRIVATE_CAUSES; those without one last, as NO_CAUSE, so the
    counts add up to the month's incidents."""
    rows = (
        Incident.objects.filter(started_in(month), counted())
        .order_by()
        .values(
            # The name of a private incident's category never leaves the database.
            category=Case(
                When(private=True, then=Value(PRIVATE_CAUSES)),
                default=F("cause_category"),
                output_field=CharField(),
            ),
            is_private=F("private"),
        )
        .annotate(n=Count("pk"))
    )
    named = sorted(
        (
            Counted(row["category"], row["n"])
            for row in rows
            if row["category"] and not row["is_private"]
        ),
        key=lambda count: (-count.count, count.name),
    )
    private = sum(row["n"] for row in rows if row["is_private"])
    unnamed = [Counted(NO_CAUSE, row["n"]) for row in rows if not row["category"]]
    return named + ([Counted(PRIVATE_CAUSES, private)] if private else []) + unnamed
