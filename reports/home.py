"""The home page's report panel: this month so far against last month (by the same day of the
month, and in all), for managers and admins (Action.READ_REPORTS), beside the incident list
(incidents.boxes).

Its figures follow the monthly report's definitions (reports.definitions: the configured
anchor, the first resolution) over the incidents that started in each month in the
organisation's zone, drills and incidents merged into another left out and counted apart
(reports.selectors). One query computes them all, whatever the number of incidents, so the
home page costs a manager one query more than anyone else.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from incidents.boxes import register_list_box
from incidents.models import OPEN_STATUSES, Incident
from incidents.permissions import Action, can
from reports.definitions import Anchor, Metric, metrics, mttr_anchor
from reports.figures import as_seconds, metric_aggregates
from reports.months import Month
from reports.selectors import counted, started_in

TEMPLATE = "reports/_home_panel.html"
# The medians the panel shows, by Metric.key.
MEDIANS = ("time_to_acknowledge", "time_to_resolve")
# Of the figures reports.figures.metric_aggregates computes for a metric, the ones shown.
SHOWN_FIGURES = ("_n", "_median")


@dataclass(frozen=True)
class Median:
    """A metric's median over the incidents it could measure (n); None when it measured none."""

    seconds: float | None
    n: int

    @property
    def duration(self) -> timedelta | None:
        return None if self.seconds is None else timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class MedianPair:
    metric: Metric
    this_month: Median
    last_month: Median


@dataclass(frozen=True)
class HomeFigures:
    month: Month
    last_month: Month
    anchor: Anchor
    incidents: int  # started this month so far, drills and merged duplicates aside
    last_month_incidents: int
    # Last month's, started by the same day and time of the month as now: early in a month,
    # "3 against 40" says less than "3 against 5 by this point".
    last_month_to_date_incidents: int
    last_month_to_date: datetime  # that moment
    medians: list[MedianPair]
    open_now: int  # open at this moment, whenever they started, drills aside (merging resolves)
    drills_excluded: int  # drills that started this month
    merged_excluded: int = 0  # incidents that started this month, merged into another since

    @property
    def report_url(self) -> str:
        return reverse("reports:monthly", kwargs={"month": str(self.month)})


def home_figures(*, now: datetime | None = None) -> HomeFigures:
    """The panel's figures at `now`, in one query.

    Which incidents count and what each median measures are the monthly report's own
    selectors and aggregates (reports.selectors.started_in and counted,
    reports.figures.metric_aggregates), filtered side by side in one aggregate, so the panel
    and the report of the same month cannot disagree.
    """
    now = now or timezone.now()
    month = Month.containing(now)
    last_month = month.previous()
    last_month_to_date = last_month.as_far_as(now)
    anchor = mttr_anchor()
    shown = [metric for metric in metrics(anchor) if metric.key in MEDIANS]

    this, last = started_in(month) & counted(), started_in(last_month) & counted()
    is_open = Q(status__in=OPEN_STATUSES) & counted()
    aggregates: dict[str, Any] = {
        "incidents": Count("pk", filter=this),
        "last_month_incidents": Count("pk", filter=last),
        "last_month_to_date_incidents": Count(
            "pk", filter=last & Q(started_at__lt=last_month_to_date)
        ),
        "open_now": Count("pk", filter=is_open),
        "drills_excluded": Count("pk", filter=started_in(month) & Q(drill=True)),
        # As the report's side counts: a merged drill counts as a drill.
        "merged_excluded": Count(
            "pk", filter=started_in(month) & Q(drill=False, merged_into__isnull=False)
        ),
    }
    for prefix, condition in (("this_", this), ("last_", last)):
        aggregates |= {
            name: aggregate
            for name, aggregate in metric_aggregates(
                shown, condition=condition, prefix=prefix
            ).items()
            if name.endswith(SHOWN_FIGURES)
        }

    # Only the rows some figure counts: the two months (incident_started_figures) and the open ones
    # (incident_open_declared), not the whole history.
    row = Incident.objects.filter(
        started_in(last_month, month) | Q(status__in=OPEN_STATUSES)
    ).aggregate(**aggregates)

    def median(prefix: str, metric: Metric) -> Median:
        # Rounded as the report rounds its figures (to the millisecond).
        name = f"{prefix}{metric.key}"
        return Median(as_seconds(row[f"{name}_median"]), row[f"{name}_n"])

    return HomeFigures(
        month=month,
        last_month=last_month,
        anchor=anchor,
        incidents=row["incidents"],
        last_month_incidents=row["last_month_incidents"],
        last_month_to_date_incidents=row["last_month_to_date_incidents"],
        last_month_to_date=last_month_to_date,
        medians=[
            MedianPair(metric, median("this_", metric), median("last_", metric)) for metric in shown
        ],
        open_now=row["open_now"],
        drills_excluded=row["drills_excluded"],
        merged_excluded=row["merged_excluded"],
    )


def home_panel_context(request: HttpRequest) -> dict[str, Any] | None:
    """The panel for managers and admins; nothing (and no query) for anyone else."""
    if not can(request.user, Action.READ_REPORTS):
        return None
    return {"figures": home_figures()}


def register() -> None:
    """Put the panel on the home page (the incident list); called from ReportsConfig.ready()."""
    register_list_box(TEMPLATE, home_panel_context)
