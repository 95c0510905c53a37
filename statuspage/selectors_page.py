"""What the public page shows, assembled from statuspage.selectors (the only reads of what the
public may see) and statuspage.uptime: the overall status, the components in their groups with
their bars, the incidents and maintenance to show, and the history month by month."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Min

from statuspage import selectors, uptime
from statuspage.models import (
    STATE_RANK,
    Component,
    ComponentGroup,
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    PublicIncident,
)
from statuspage.overall import OverallStatus, overall_status


def page_status(
    *, states: Iterable[str], incidents: Iterable[PublicIncident], maintenance: bool = False
) -> OverallStatus:
    """The banner's status (statuspage.overall: the same rule as status.json)."""
    return overall_status(
        states=states,
        impacts=[incident.impact for incident in incidents],
        maintenance_active=maintenance,
    )


def worst_state(states: Iterable[str]) -> str:
    return max(states, key=lambda state: STATE_RANK.get(state, 0), default="operational")


@dataclass
class ComponentRow:
    component: Component
    bar: uptime.Uptime

    @property
    def name(self) -> str:
        return str(self.component)

    @property
    def state(self) -> str:
        return self.component.state

    @property
    def state_label(self) -> str:
        return ComponentState(self.component.state).label

    @property
    def percent(self) -> str:
        return uptime.percent_shown(self.bar.fraction)


@dataclass
class GroupBlock:
    """A group and its components; a component outside any group is a block of its own."""

    group: ComponentGroup | None
    rows: list[ComponentRow] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.group.name if self.group else self.rows[0].name

    @property
    def state(self) -> str:
        return worst_state(row.state for row in self.rows)

    @property
    def state_label(self) -> str:
        return ComponentState(self.state).label


@dataclass(frozen=True)
class HistoryEntry:
    """An incident or a completed maintenance in the history, at the moment it is filed under
    (an incident's publication, a maintenance's scheduled start)."""

    at: datetime
    incident: PublicIncident | None = None
    maintenance: Maintenance | None = None


@dataclass
class PastDay:
    """A day of the page's "Past incidents", in the page's zone, newest entry first."""

    day: date
    entries: list[HistoryEntry] = field(default_factory=list)


@dataclass
class Overview:
    status: OverallStatus
    blocks: list[GroupBlock]
    incidents: list[PublicIncident]
    active_maintenances: list[Maintenance]
    upcoming_maintenances: list[Maintenance]
    past_days: list[PastDay]


def component_blocks(*, now: datetime) -> list[GroupBlock]:
    """The components in display order, in their groups, each with its 90-day bar."""
    components = list(selectors.visible_components())
    bars = uptime.components_uptime(components, now=now)
    blocks: list[GroupBlock] = []
    for component in components:
        row = ComponentRow(component, bars[component.pk])
        if component.group_id is not None and blocks and blocks[-1].group == component.group:
            blocks[-1].rows.append(row)
        else:
            blocks.append(GroupBlock(component.group, [row]))
    return blocks


def past_days(
    *,
    incidents: Iterable[PublicIncident],
    maintenances: Iterable[Maintenance],
    today: date,
    zone: ZoneInfo,
) -> list[PastDay]:
    """STATUSPAGE_PAST_INCIDENT_DAYS days back from today, newest first, each with what was
    published that day and the maintenance completed that was scheduled to start that day."""
    days = [
        PastDay(today - timedelta(days=back))
        for back in range(settings.STATUSPAGE_PAST_INCIDENT_DAYS)
    ]
    by_day = {day.day: day for day in days}
    entries = [HistoryEntry(at=incident.created_at, incident=incident) for incident in incidents]
    entries += [
        HistoryEntry(at=maintenance.scheduled_for, maintenance=maintenance)
        for maintenance in maintenances
        if maintenance.status == MaintenanceStatus.COMPLETED
    ]
    for entry in sorted(entries, key=lambda entry: entry.at, reverse=True):
        found = by_day.get(entry.at.astimezone(zone).date())
        if found is not None:
            found.entries.append(entry)
    return days


def page_overview(*, now: datetime) -> Overview:
    zone = ZoneInfo(settings.STATUSPAGE_TIME_ZONE)
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=max(settings.STATUSPAGE_PAST_INCIDENT_DAYS, 1) - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    blocks = component_blocks(now=now)
    # One read each for incidents and maintenance: the sections above and the past days
    # share them, which keeps the page's queries bounded (tests/statuspage/test_page.py).
    recent = list(selectors.unresolved_or_recent_incidents(since=since))
    incidents = [incident for incident in recent if incident.resolved_at is None]
    maintenances = list(selectors.current_or_recent_maintenances(since=since))
    active = [
        maintenance
        for maintenance in maintenances
        if maintenance.status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
    ]
    upcoming = [m for m in maintenances if m.status == MaintenanceStatus.SCHEDULED]
    states = [row.state for block in blocks for row in block.rows]
    return Overview(
        status=page_status(states=states, incidents=incidents, maintenance=bool(active)),
        blocks=blocks,
        incidents=incidents,
        active_maintenances=active,
        upcoming_maintenances=upcoming,
        past_days=past_days(incidents=recent, maintenances=maintenances, today=today, zone=zone),
    )


def incident_by_code(code: str) -> PublicIncident | None:
    return selectors.published_incidents().filter(code=code).first()


def maintenance_by_code(code: str) -> Maintenance | None:
    return selectors.maintenances().filter(code=code).first()


@dataclass(frozen=True)
class Month:
    """A calendar month in the page's zone."""

    year: int
    month: int

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> "Month":
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def start(self, zone: ZoneInfo) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=zone)

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def minus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)

    def months_before(self, later: "Month") -> int:
        return (later.year - self.year) * 12 + later.month - self.month

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class HistoryPage:
    month: Month
    entries: Sequence[HistoryEntry]
    # Months as (month, page number) for the links, None at either end.
    newer: Month | None
    older: Month | None
    page: int


def history_month(*, month: Month, now: datetime) -> HistoryPage:
    """One month's published incidents (by when they were published) and completed
    maintenance (by when it was scheduled to start), newest first. The links go back to the
    month of the first of either and forward to this month."""
    zone = ZoneInfo(settings.STATUSPAGE_TIME_ZONE)
    current = Month.containing(now, zone)
    firsts = [
        selectors.published_incidents().aggregate(first=Min("created_at"))["first"],
        selectors.completed_maintenances().aggregate(first=Min("scheduled_for"))["first"],
    ]
    first_at = min((first for first in firsts if first is not None), default=None)
    oldest = Month.containing(first_at, zone) if first_at else current
    since, until = month.start(zone), month.next().start(zone)
    entries = [
        HistoryEntry(at=incident.created_at, incident=incident)
        for incident in selectors.incident_history(since=since, until=until)
    ] + [
        HistoryEntry(at=maintenance.scheduled_for, maintenance=maintenance)
        for maintenance in selectors.completed_maintenances(since=since, until=until)
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return HistoryPage(
        month=month,
        entries=entries,
        newer=month.next() if month.months_before(current) > 0 else None,
        older=month.previous() if oldest.months_before(month) > 0 else None,
        page=month.months_before(current) + 1,
    )
