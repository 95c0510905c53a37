"""The home page's report panel: this month so far against the whole of last month, for
managers and admins (Action.READ_REPORTS), beside the incident list (incidents.boxes).

Its figures follow the monthly report's definitions (reports.definitions: the configured
anchor, the first resolution) over the incidents that started in each month in the
organisation's zone, drills left out and counted apart. One query computes them all, whatever
the number of incidents, so the home page costs a manager one query more than anyone else.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from incidents.boxes import register_list_box
from incidents.models import Incident, Status
from incidents.permissions import Action, can
from reports.aggregates import Percentile, Seconds
from reports.definitions import Anchor, Metric, metrics, mttr_anchor
from reports.months import Month

TEMPLATE = "reports/_home_panel.html"
# The medians the panel shows, by Metric.key.
MEDIANS = ("time_to_acknowledge", "time_to_resolve")


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
    incidents: int  # started this month so far, drills aside
    last_month_incidents: int
    medians: list[MedianPair]
    open_now: int  # open at this moment, whenever they started, drills aside
    drills_excluded: int  # drills that started this month

    @property
    def report_url(self) -> str:
        return reverse("reports:monthly", kwargs={"month": str(self.month)})


def home_figures(*, now: datetime | None = None) -> HomeFigures:
    """The panel's figures at `now`, in one query."""
    month = Month.containing(now or timezone.now())
    last_month = month.previous()
    anchor = mttr_anchor()
    shown = [metric for metric in metrics(anchor) if metric.key in MEDIANS]

    started_this = Q(started_at__gte=month.start(), started_at__lt=month.end())
    started_last = Q(started_at__gte=last_month.start(), started_at__lt=month.start())
    real = Q(drill=False)
    is_open = ~Q(status=Status.RESOLVED)
    aggregates: dict[str, Any] = {
        "incidents": Count("pk", filter=started_this & real),
        "last_month_incidents": Count("pk", filter=started_last & real),
        "open_now": Count("pk", filter=is_open & real),
        "drills_excluded": Count("pk", filter=started_this & ~real),
    }
    for metric in shown:
        measured = Q(**{f"{metric.end_field}__isnull": False}) & real
        seconds = Seconds(metric.end_field, metric.start_field)
        for period, started in (("this", started_this), ("last", started_last)):
            aggregates[f"{metric.key}_{period}"] = Percentile(
                seconds, 0.5, filter=started & measured
            )
            aggregates[f"{metric.key}_{period}_n"] = Count("pk", filter=started & measured)

    # Only the rows some figure counts: the two months (incident_started) and the open ones
    # (incident_open_declared), not the whole history.
    row = Incident.objects.filter(
        Q(started_at__gte=last_month.start(), started_at__lt=month.end()) | is_open
    ).aggregate(**aggregates)

    return HomeFigures(
        month=month,
        last_month=last_month,
        anchor=anchor,
        incidents=row["incidents"],
        last_month_incidents=row["last_month_incidents"],
        medians=[
            MedianPair(
                metric,
                Median(row[f"{metric.key}_this"], row[f"{metric.key}_this_n"]),
                Median(row[f"{metric.key}_last"], row[f"{metric.key}_last_n"]),
            )
            for metric in shown
        ],
        open_now=row["open_now"],
        drills_excluded=row["drills_excluded"],
    )


def home_panel_context(request: HttpRequest) -> dict[str, Any] | None:
    """The panel for managers and admins; nothing (and no query) for anyone else."""
    if not can(request.user, Action.READ_REPORTS):
        return None
    return {"figures": home_figures()}


def register() -> None:
    """Put the panel on the home page (the incident list); called from ReportsConfig.ready()."""
    register_list_box(TEMPLATE, home_panel_context)
