"""Builds a MonthlyReport (reports/report.py) in a fixed number of queries.

Which incidents count, and how, is said in reports.selectors; what each metric measures in
reports.definitions. Eleven queries on PostgreSQL (thirteen on SQLite, which has no GROUPING
SETS nor LATERAL: reports.selectors_postgres), whatever the number of incidents, services
and teams, plus responder load's own (reports.load).
"""

from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from postmortems.services.reminders import organisation_today
from reports import selectors, selectors_incidents, selectors_postmortems
from reports.definitions import Metric, metrics, mttr_anchor
from reports.load import responder_load
from reports.months import Month
from reports.recommendations import recommendations
from reports.report import Count, IncidentRow, MonthlyReport

# How many of the month's incidents the page lists; the CSV has them all.
INCIDENTS_LISTED = 200
# How many services "top services" names.
TOP_SERVICES = 5
# incident_rows() reads this many incidents at a time, from one server-side cursor.
ROWS_CHUNK = 2000


def _metric(all_metrics: list[Metric], key: str) -> Metric:
    return next(metric for metric in all_metrics if metric.key == key)


def monthly_report(month: Month, *, now: datetime | None = None) -> MonthlyReport:
    """The report for `month` as of `now` (overdue action items are counted on its day)."""
    now = now or timezone.now()
    anchor = mttr_anchor()
    measured = metrics(anchor)
    side = selectors.side_counts(month)
    figures = selectors.month_figures(
        month, measured, anchor, trend_metric=_metric(measured, "time_to_resolve"), side=side
    )
    totals, by_severity = figures.totals, figures.by_severity
    by_service = selectors.by_service(month, measured)
    action_items = selectors_postmortems.action_item_status(month, today=organisation_today(now))
    load = responder_load(month, now=now)
    listed = selectors_incidents.first_rows(month, measured, limit=INCIDENTS_LISTED)
    return MonthlyReport(
        month=month,
        time_zone=settings.ORGANISATION_TIME_ZONE,
        anchor=anchor,
        generated_at=now,
        metrics=measured,
        incidents=totals.incidents,
        open=totals.open,
        drills_excluded=side.drills,
        merged_excluded=side.merged,
        reopened_incidents=totals.reopened_incidents,
        reopens=totals.reopens,
        previous_incidents=totals.previous_incidents,
        overall=totals.overall,
        by_severity=by_severity,
        by_service=by_service,
        by_team=figures.by_team,
        trend=totals.trend,
        top_services=[
            Count(service.name, service.incidents) for service in by_service if service.slug
        ][:TOP_SERVICES],
        cause_categories=selectors.cause_categories(month),
        contributing_factors=selectors_postmortems.contributing_factors(month),
        action_items=action_items,
        load=load,
        recommendations=recommendations(
            by_severity=by_severity, by_service=by_service, action_items=action_items, load=load
        ),
        incident_rows=listed,
        incidents_not_listed=totals.incidents - len(listed),
    )


def incident_rows(month: Month) -> Iterator[IncidentRow]:
    """Every incident the figures count (drills and merged ones aside), newest first, streamed."""
    return selectors_incidents.all_rows(month, metrics(), chunk_size=ROWS_CHUNK)
