"""The schedule page's two-week calendar, laid out in Python: rows of day cells holding
proportional segments, so the template needs neither inline styles nor scripts under the strict
CSP. Pure: it reads what selectors.schedules_loaded loaded and touches no database."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.formats import date_format

from accounts.models import User
from oncall import schedules
from oncall.models import ScheduleLayer
from oncall.selectors import LoadedSchedule

CALENDAR_DAYS = 14
# Segments are sized in half hours: fine enough for a handoff at 09:30, few enough CSS classes.
SLOT = timedelta(minutes=30)
TONES = 8

ShiftLink = Callable[[schedules.Shift], str]


@dataclass(frozen=True)
class Segment:
    """A stretch of one day cell: someone's shift cut to the day, or a gap where nobody is."""

    start: datetime
    end: datetime
    user: User | None
    shift: schedules.Shift | None  # the whole piece this segment was cut from
    weight: int  # in half hours, for the width
    link: str = ""  # "take this shift", on the final row
    shows_start: bool = False  # the shift starts inside the day: say when

    @property
    def continues_before(self) -> bool:
        return self.shift is not None and self.shift.start < self.start

    @property
    def continues_after(self) -> bool:
        return self.shift is not None and self.shift.end > self.end

    @property
    def tone(self) -> int:
        return self.user.pk % TONES if self.user is not None else 0


@dataclass(frozen=True)
class Day:
    day: date
    start: datetime
    end: datetime
    is_today: bool


@dataclass(frozen=True)
class Cell:
    day: Day
    segments: list[Segment]


@dataclass(frozen=True)
class Row:
    key: str  # "layer-<id>", "overrides" or "final": what the tests and the CSS pick rows by
    label: str
    note: str
    cells: list[Cell]


@dataclass(frozen=True)
class Week:
    days: list[Day]
    rows: list[Row]


@dataclass(frozen=True)
class Calendar:
    start: date
    end: date  # inclusive: the last day shown
    zone: str
    weeks: list[Week]
    previous: date
    following: date


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """When `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def calendar_start(raw: str | None, *, zone: ZoneInfo, now: datetime) -> date:
    """The first day shown: `?start=YYYY-MM-DD`, else this week's Monday in the viewer's zone."""
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            day = None
        if day is not None and 2000 <= day.year <= 2100:
            return day
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.weekday())


def _slots(span: timedelta) -> int:
    return round(span / SLOT)


def _cut(
    pieces: Sequence[schedules.Shift],
    day: Day,
    users: dict[int, User],
    link: ShiftLink | None = None,
) -> Cell:
    """The day's segments, gaps included, so each cell's segments fill it in proportion.
    Precondition: `pieces` are sorted and disjoint."""
    segments: list[Segment] = []
    cursor = day.start
    for piece in pieces:
        if piece.end <= day.start or piece.start >= day.end:
            continue
        start, end = max(piece.start, day.start), min(piece.end, day.end)
        if start > cursor and _slots(start - cursor):
            segments.append(Segment(cursor, start, None, None, _slots(start - cursor)))
        segments.append(
            Segment(
                start,
                end,
                users.get(piece.user_id),
                piece,
                max(1, _slots(end - start)),
                link(piece) if link is not None else "",
                shows_start=piece.start > day.start,
            )
        )
        cursor = end
    if cursor < day.end and _slots(day.end - cursor):
        segments.append(Segment(cursor, day.end, None, None, _slots(day.end - cursor)))
    return Cell(day, segments)


def _layer_note(layer: ScheduleLayer, zone: ZoneInfo) -> str:
    parts = [f"level {layer.level}"]
    if layer.starts_at is not None:
        parts.append(f"from {date_format(layer.starts_at.astimezone(zone), 'j M H:i')}")
    if layer.ends_at is not None:
        parts.append(f"until {date_format(layer.ends_at.astimezone(zone), 'j M H:i')}")
    return " · ".join(parts)


def build_calendar(
    loaded: LoadedSchedule,
    *,
    first: date,
    zone: ZoneInfo,
    now: datetime,
    take_link: ShiftLink | None = None,
) -> Calendar:
    """Two weeks from `first` in the viewer's `zone`: a row per layer meeting the window, the
    overrides, and the final schedule. `take_link(shift)` gives a final shift's link."""
    days = [first + timedelta(days=offset) for offset in range(CALENDAR_DAYS + 1)]
    bounds = [midnight(day, zone) for day in days]
    today = now.astimezone(zone).date()
    all_days = [Day(day, bounds[i], bounds[i + 1], day == today) for i, day in enumerate(days[:-1])]
    start, end = bounds[0], bounds[-1]

    spec = loaded.spec
    rows: list[tuple[str, str, str, list[schedules.Shift], ShiftLink | None]] = []
    for layer, layer_spec in zip(loaded.layers, spec.layers, strict=True):
        pieces = schedules.layer_shifts(layer_spec, start, end)
        active_until = layer.ends_at is None or layer.ends_at > start
        if pieces or (active_until and layer_spec.active_from < end):
            rows.append((f"layer-{layer.pk}", layer.name, _layer_note(layer, zone), pieces, None))
    # Overrides only, resolved as the final schedule resolves them (the latest wins).
    only_overrides = schedules.ScheduleSpec(
        id=spec.id, time_zone=spec.time_zone, layers=(), overrides=spec.overrides
    )
    rows.append(("overrides", "Overrides", "", schedules.shifts(only_overrides, start, end), None))
    rows.append(
        ("final", "On call", "final schedule", schedules.shifts(spec, start, end), take_link)
    )

    weeks = []
    for week in range(CALENDAR_DAYS // 7):
        week_days = all_days[week * 7 : week * 7 + 7]
        weeks.append(
            Week(
                days=week_days,
                rows=[
                    Row(key, label, note, [_cut(pieces, d, loaded.users, link) for d in week_days])
                    for key, label, note, pieces, link in rows
                ],
            )
        )
    return Calendar(
        start=first,
        end=days[-2],
        zone=str(zone),
        weeks=weeks,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
    )
