"""The monthly report as plain data: what the page, the CSV, the JSON, the Markdown and the email
all render. Built by reports.builder.monthly_report() in a fixed number of queries, every
figure aggregated in the database (DESIGN.md, "Reports").

Durations are seconds (float) or None when nothing was measured.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reports.definitions import Anchor, Metric
from reports.months import Month


@dataclass(frozen=True)
class Distribution:
    """One metric over a set of incidents: how many it measured (n) and how many it could not
    (left_out: still open, or a timestamp missing, e.g. never acknowledged)."""

    n: int
    left_out: int
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    max: float | None = None


EMPTY = Distribution(0, 0)


@dataclass(frozen=True)
class MetricFigures:
    """A metric this month and the month before, overall."""

    metric: Metric
    this_month: Distribution
    previous_month: Distribution


@dataclass(frozen=True)
class GroupFigures:
    """The month's incidents of one severity, service or team, with each metric's figures keyed
    by Metric.key. An incident with two services counts under both."""

    name: str
    incidents: int
    open: int
    figures: dict[str, Distribution]
    previous_incidents: int = 0
    # Severity rows only: the severity's response target, and how many incidents were
    # acknowledged within it (of figures["time_to_acknowledge"].n).
    response_target: timedelta | None = None
    within_target: int | None = None
    rank: int | None = None
    # Service and team rows: the slug, for links; empty for severities and for the incidents
    # with no service or no team.
    slug: str = ""


@dataclass(frozen=True)
class TrendPoint:
    month: Month
    incidents: int
    mttr: Distribution  # time to resolve of the incidents that started that month


@dataclass(frozen=True)
class Count:
    name: str
    count: int


@dataclass(frozen=True)
class ActionItemStatus:
    """Action items of the month's incidents, and every overdue one."""

    total: int
    by_status: dict[str, int]  # ActionItem status value -> count
    overdue: int  # open or in progress past their due date, whatever month they came from
    done_on_time: int


@dataclass(frozen=True)
class ResponderLoad:
    """One person's month on call (reports.load)."""

    user_id: int
    name: str
    pages: int  # pages sent to them (every contact method counts)
    off_hours_pages: int  # sent outside REPORTS_WORKING_HOURS/DAYS in their own zone
    interruptions: int  # pages within 60 s of the previous one count as one (PagerDuty's rule)
    off_hours_interruptions: int  # begun outside working hours, as off_hours_pages
    incidents_commanded: int
    commander_seconds: float  # time holding the commander role, within the month


@dataclass(frozen=True)
class Recommendation:
    # mttr_over_target, mtta_over_target, recurring_service, overdue_action_items,
    # off_hours_load
    kind: str
    text: str
    link: str = ""


@dataclass(frozen=True)
class IncidentRow:
    """One of the month's incidents, as the page lists it and the CSV writes it."""

    number: int
    title: str
    severity: str
    status: str
    team: str
    services: str  # comma-separated names
    started_at: datetime
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    last_resolved_at: datetime | None
    reopen_count: int
    durations: dict[str, float | None]  # Metric.key -> seconds
    # A private incident's title is withheld (reports go to every manager, who may not be
    # among its participants): title says so, the figures still count it.
    private: bool = False

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    time_zone: str
    anchor: Anchor
    generated_at: datetime
    metrics: list[Metric]

    # Counts: every incident that started in the month, drills and merged duplicates aside.
    incidents: int
    open: int
    drills_excluded: int
    reopened_incidents: int  # incidents reopened at least once
    reopens: int  # the reopens themselves
    previous_incidents: int

    overall: list[MetricFigures]
    by_severity: list[GroupFigures]
    by_service: list[GroupFigures]
    by_team: list[GroupFigures]
    trend: list[TrendPoint]  # the 12 months before and this one, oldest first

    top_services: list[Count]
    cause_categories: list[Count]
    contributing_factors: list[Count]
    # None: nothing to report (no postmortem nor action item in the month, none overdue).
    action_items: ActionItemStatus | None
    load: list[ResponderLoad]
    recommendations: list[Recommendation]

    # The month's incidents, newest first, capped for the page (incident_rows() streams all).
    incident_rows: list[IncidentRow] = field(default_factory=list)
    incidents_not_listed: int = 0
    # Incidents of the month merged into another: duplicates, left out like drills.
    merged_excluded: int = 0
