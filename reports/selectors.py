"""Reads for the monthly report: the month's counts and figures, overall and by group, and the
trend. Every function is one query (two for severities) whatever the number of incidents,
services or teams; the database aggregates, Python only arranges the rows that come back.

Which incidents count (the report states it): those that started in the month, in the
organisation's zone. Drills are left out and counted as such. An incident merged into another
is a duplicate of it, so it is left out too (counted as merged): the incident it was merged into
carries the figures (a merged drill counts as a drill). Open incidents count in every total; a
duration they have not reached is left out of that metric's figures (Distribution.left_out).
"""

from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Aggregate, Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from incidents.models import OPEN_STATUSES, Incident, Severity
from reports.definitions import Anchor, Metric
from reports.figures import distribution, distributions, empty_distributions, metric_aggregates
from reports.months import Month, organisation_zone
from reports.report import Count as Counted
from reports.report import Distribution, GroupFigures, MetricFigures, TrendPoint

NO_SERVICE = "No service"
NO_TEAM = "No team"
NO_CAUSE = "Not recorded"

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


@dataclass(frozen=True)
class MonthTotals:
    incidents: int
    open: int
    drills_excluded: int
    merged_excluded: int
    reopened_incidents: int
    reopens: int
    previous_incidents: int
    postmortems: int  # of the month's counted incidents
    overall: list[MetricFigures]


def month_totals(month: Month, metrics: list[Metric]) -> MonthTotals:
    """The month's counts, and every metric this month and the month before: one query over
    the two months, each figure filtered to its own."""
    this = started_in(month)
    this_counted = this & counted()
    previous_counted = started_in(month.previous()) & counted()
    row = Incident.objects.filter(started_in(month.previous(), month)).aggregate(
        incidents=Count("pk", filter=this_counted),
        open=Count("pk", filter=this_counted & _open()),
        drills=Count("pk", filter=this & Q(drill=True)),
        merged=Count("pk", filter=this & Q(drill=False, merged_into__isnull=False)),
        reopened=Count("pk", filter=this_counted & Q(reopen_count__gt=0)),
        reopens=Sum("reopen_count", filter=this_counted, default=0),
        previous=Count("pk", filter=previous_counted),
        # One-to-one: the join adds no row, so the counts above stay counts of incidents.
        postmortems=Count("postmortem", filter=this_counted),
        **metric_aggregates(metrics, condition=this_counted, prefix="this_"),
        **metric_aggregates(metrics, condition=previous_counted, prefix="previous_"),
    )
    return MonthTotals(
        incidents=row["incidents"],
        open=row["open"],
        drills_excluded=row["drills"],
        merged_excluded=row["merged"],
        reopened_incidents=row["reopened"],
        reopens=row["reopens"],
        previous_incidents=row["previous"],
        postmortems=row["postmortems"],
        overall=[
            MetricFigures(
                metric=metric,
                this_month=distribution(row, f"this_{metric.key}", counted=row["incidents"]),
                previous_month=distribution(row, f"previous_{metric.key}", counted=row["previous"]),
            )
            for metric in metrics
        ],
    )


def _grouped(
    month: Month,
    metrics: list[Metric],
    *keys: str,
    this_month_only: bool = False,
    **extra: Aggregate,
) -> QuerySet[Incident, dict[str, Any]]:
    """One row per value of `keys` among the counted incidents of the month and the one
    before: the month's counts and figures, and the previous month's count. this_month_only:
    not the groups whose incidents all started in the previous month."""
    this = started_in(month)
    # Typed by hand: the stubs cannot follow annotations passed as **kwargs.
    rows: QuerySet[Incident, dict[str, Any]] = (
        Incident.objects.filter(started_in(month.previous(), month), counted())
        .values(*keys)
        .order_by()
        .annotate(
            n_incidents=Count("pk", filter=this),
            n_open=Count("pk", filter=this & _open()),
            n_previous=Count("pk", filter=started_in(month.previous())),
            **extra,
            **metric_aggregates(metrics, condition=this),
        )
    )
    return rows.filter(Q(n_incidents__gt=0)) if this_month_only else rows


def _group(
    name: str, row: dict[str, Any], metrics: list[Metric], *, slug: str | None = None
) -> GroupFigures:
    return GroupFigures(
        name=name,
        incidents=row["n_incidents"],
        open=row["n_open"],
        figures=distributions(row, metrics, counted=row["n_incidents"]),
        previous_incidents=row["n_previous"],
        slug=slug or "",
    )


def by_severity(month: Month, metrics: list[Metric], anchor: Anchor) -> list[GroupFigures]:
    """Every severity, most severe first, those without incidents too (with zeros).

    within_target: incidents acknowledged no later than the severity's response target after
    the anchor (the start time to acknowledge is measured from), of those acknowledged.
    """
    within = Q(acknowledged_at__lte=F(anchor.field) + F("severity__response_target"))
    rows = {
        row["severity_id"]: row
        for row in _grouped(
            month, metrics, "severity_id", n_within=Count("pk", filter=started_in(month) & within)
        )
    }
    groups = []
    for severity in Severity.objects.order_by("rank"):
        row = rows.get(severity.pk)
        if row is None:
            group = GroupFigures(
                name=severity.name, incidents=0, open=0, figures=empty_distributions(metrics)
            )
        else:
            group = _group(severity.name, row, metrics)
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
    one with none under NO_SERVICE."""
    rows = _grouped(month, metrics, "services__name", "services__slug", this_month_only=True)
    return _by_count(
        [
            _group(row["services__name"] or NO_SERVICE, row, metrics, slug=row["services__slug"])
            for row in rows
        ]
    )


def by_team(month: Month, metrics: list[Metric]) -> list[GroupFigures]:
    """Teams with incidents this month, and NO_TEAM for incidents without one."""
    rows = _grouped(month, metrics, "team__name", "team__slug", this_month_only=True)
    return _by_count(
        [_group(row["team__name"] or NO_TEAM, row, metrics, slug=row["team__slug"]) for row in rows]
    )


def trend(month: Month, metric: Metric, *, months: int = 12) -> list[TrendPoint]:
    """`months` months before `month` and `month` itself, oldest first: incidents and `metric`
    per month, the months without incidents with zeros. One query."""
    zone = organisation_zone()
    first = month.minus(months)
    rows = (
        Incident.objects.filter(started_in(first, month), counted())
        .annotate(month_start=TruncMonth("started_at", tzinfo=zone))
        .values("month_start")
        .order_by()
        .annotate(n_incidents=Count("pk"), **metric_aggregates([metric]))
    )
    by_month = {Month.containing(row["month_start"], zone): row for row in rows}
    points = []
    for back in range(months, -1, -1):
        point_month = month.minus(back)
        row = by_month.get(point_month)
        if row is None:
            points.append(TrendPoint(point_month, 0, Distribution(0, 0)))
        else:
            incidents = row["n_incidents"]
            points.append(
                TrendPoint(point_month, incidents, distribution(row, metric.key, counted=incidents))
            )
    return points


def cause_categories(month: Month) -> list[Counted]:
    """The month's incidents by cause category, most frequent first; those without one last,
    as NO_CAUSE, so the counts add up to the month's incidents."""
    rows = (
        Incident.objects.filter(started_in(month), counted())
        .values("cause_category")
        .order_by()
        .annotate(n=Count("pk"))
    )
    named = sorted(
        (Counted(row["cause_category"], row["n"]) for row in rows if row["cause_category"]),
        key=lambda count: (-count.count, count.name),
    )
    unnamed = [Counted(NO_CAUSE, row["n"]) for row in rows if not row["cause_category"]]
    return named + unnamed
