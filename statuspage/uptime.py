"""The 90-day uptime bars, from the components' state spans.

Days are the calendar days of STATUSPAGE_TIME_ZONE, today included, each from its local
midnight to the next: 23 or 25 hours long across a DST change, which is why day boundaries
are made in the zone and measured in UTC. A day counts only the time that is covered by a
span, after the component existed and before now, so a component added last week has no
data before then rather than a perfect record, and today's figure covers the day so far.

A day's uptime is 1 - sum(seconds in a state * that state's weight) / seconds counted, with the
weights of settings.STATUSPAGE_UPTIME_WEIGHTS (1 counts as down, 0 as up; a state the setting
does not name weighs 0). The 90-day figure weights the same way over all the time counted.
"""

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from statuspage.models import STATE_RANK, Component, ComponentState, ComponentStateChange

DAYS = 90


@dataclass
class Day:
    date: date
    counted: float = 0.0
    down: float = 0.0
    # Seconds spent in each state that day (counted time only).
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.counted > 0

    @property
    def uptime(self) -> float | None:
        return 1 - self.down / self.counted if self.counted else None

    @property
    def worst(self) -> str | None:
        """The worst state the component was in that day, for the bar's colour."""
        if not self.seconds:
            return None
        return max(self.seconds, key=lambda state: STATE_RANK.get(state, 0))

    @property
    def incidents(self) -> list[tuple[str, float]]:
        """Each state other than operational, worst first, with its seconds: the tooltip."""
        return sorted(
            (
                (state, seconds)
                for state, seconds in self.seconds.items()
                if state != ComponentState.OPERATIONAL and seconds > 0
            ),
            key=lambda item: -STATE_RANK.get(item[0], 0),
        )

    @property
    def label(self) -> str:
        """The day in words, for its tooltip and the bar's text alternative."""
        shown = f"{self.date.day} {self.date:%b %Y}"
        if not self.has_data:
            return f"{shown}: no data"
        uptime = self.uptime if self.uptime is not None else 1
        parts = [f"{shown}: {percent_shown(uptime)} % uptime"]
        parts.extend(
            f"{ComponentState(state).label.lower()} {duration_shown(seconds)}"
            for state, seconds in self.incidents
        )
        return ", ".join(parts) if len(parts) > 1 else f"{shown}: no downtime"

    @property
    def tone(self) -> str:
        """The bar cell's colour: "" for a plain operational day (the cell's default, which
        keeps 90 cells a component small), else the worst state, or "none" without data."""
        worst = self.worst
        if worst == ComponentState.OPERATIONAL:
            return ""
        return worst or "none"


@dataclass
class Uptime:
    """One component's bar: `days` oldest first, ending today."""

    days: list[Day]

    @property
    def counted(self) -> float:
        return sum(day.counted for day in self.days)

    @property
    def eventful_days(self) -> list[Day]:
        return [day for day in self.days if day.incidents]

    @property
    def fraction(self) -> float | None:
        counted = self.counted
        if not counted:
            return None
        return 1 - sum(day.down for day in self.days) / counted


def day_bounds(first: date, count: int, zone: ZoneInfo) -> list[datetime]:
    """count + 1 UTC instants: each day's local midnight, then the end of the last day."""
    return [
        datetime.combine(first + timedelta(days=offset), datetime.min.time(), zone).astimezone(UTC)
        for offset in range(count + 1)
    ]


def weight_of(state: str) -> float:
    return float(settings.STATUSPAGE_UPTIME_WEIGHTS.get(state, 0.0))


def components_uptime(
    components: Sequence[Component], *, now: datetime, days: int = DAYS
) -> dict[int, Uptime]:
    """Each component's bar of `days` days up to today, keyed by component id; one query
    for every component's spans overlapping the window."""
    zone = ZoneInfo(settings.STATUSPAGE_TIME_ZONE)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    bounds = day_bounds(first, days, zone)
    start, end = bounds[0], min(bounds[-1], now)
    spans = ComponentStateChange.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start),
        component_id__in=[component.pk for component in components],
        started_at__lt=end,
    ).values_list("component_id", "state", "started_at", "ended_at")
    by_component: dict[int, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    for component_id, state, started_at, ended_at in spans:
        by_component[component_id].append((state, started_at, ended_at))
    return {
        component.pk: _bar(
            by_component.get(component.pk, ()),
            bounds=bounds,
            first=first,
            since=max(start, component.created_at),
            until=end,
        )
        for component in components
    }


def _bar(
    spans: Iterable[tuple[str, datetime, datetime | None]],
    *,
    bounds: list[datetime],
    first: date,
    since: datetime,
    until: datetime,
) -> Uptime:
    days = [Day(first + timedelta(days=offset)) for offset in range(len(bounds) - 1)]
    for state, started_at, ended_at in spans:
        begin = max(started_at, since)
        finish = min(ended_at or until, until)
        if finish <= begin:
            continue
        weight = weight_of(state)
        # The day holding `begin`, then every following day the span reaches into.
        index = bisect_right(bounds, begin) - 1
        while index < len(days) and bounds[index] < finish:
            piece = (min(finish, bounds[index + 1]) - max(begin, bounds[index])).total_seconds()
            day = days[index]
            day.counted += piece
            day.down += piece * weight
            day.seconds[state] = day.seconds.get(state, 0.0) + piece
            index += 1
    return Uptime(days)


def percent_shown(fraction: float | None) -> str:
    """A fraction as Statuspage shows it, "99.97": rounded down, so any downtime at all never
    reads as 100.00."""
    if fraction is None:
        return ""
    return f"{math.floor(fraction * 10000 + 1e-9) / 100:.2f}"


def duration_shown(seconds: float) -> str:
    """A duration as the tooltip shows it: "2 h 5 min", "40 min", "under a minute"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"
