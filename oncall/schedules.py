"""Who is on call, computed from a schedule's layers and overrides: pure functions over dataclasses.

Nothing here touches the database (ShiftLength is a Django enum only so that the model's field
can take its choices from here), so selectors, the iCal feed and the pager can share one
definition of the rotation arithmetic, and it can be tested exhaustively without fixtures.

Every instant returned is aware and in UTC; every interval is half-open, [start, end), so at the
handoff instant the incoming person is on call.
"""

import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, cached_property
from zoneinfo import ZoneInfo

from django.db.models import TextChoices

NEXT_SHIFT_HORIZON = timedelta(days=90)
NEXT_SHIFT_FIRST_LOOK = timedelta(days=7)


@cache
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def _utc(moment: datetime, *, field: str) -> datetime:
    # A naive datetime would be read as the server's local time by astimezone(): refuse it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must be an aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _localize(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # PEP 495 fold=0 semantics, as `datetime(..., tzinfo=ZoneInfo(z)).astimezone(UTC)` gives:
    # a wall time inside a spring-forward gap is read with the offset in force before the gap, so
    # it lands after the gap by the gap's length (02:15 on Lord Howe's spring-forward day, whose
    # clocks jump 02:00 -> 02:30, becomes 02:45 +11:00); an ambiguous wall time on a fall-back
    # day is its first occurrence. Building the datetime field by field drops any fold on `wall`.
    return datetime(
        day.year,
        day.month,
        day.day,
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond,
        tzinfo=zone,
    ).astimezone(UTC)


def _local_days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class Restriction:
    """A weekly-repeating window, in the layer's zone, during which it puts someone on call."""

    start: time  # local wall time the window opens
    end: time  # local wall time it closes; end <= start means it runs overnight into the next day
    # 0=Monday..6=Sunday: the days the window OPENS on; empty = every day
    weekdays: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError(
                "restriction times are wall times in the layer's zone; pass naive times"
            )
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be within 0..6, got {sorted(self.weekdays)}")

    def window_opening_on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        if self.weekdays and day.weekday() not in self.weekdays:
            return None
        closing_day = day if self.end > self.start else day + timedelta(days=1)
        opens = _localize(day, self.start, zone)
        closes = _localize(closing_day, self.end, zone)
        # A window whose both ends fall in or around a spring-forward gap can collapse to nothing.
        return (opens, closes) if closes > opens else None


class ShiftLength(TextChoices):
    """How a layer's shifts are cut; also the choices of ScheduleLayer.shift_length."""

    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    HOURS = "hours", "Every N hours"


@dataclass(frozen=True)
class Layer:
    id: int
    level: int  # higher level overrides lower levels
    participants: tuple[int, ...]  # user ids in rotation order (may repeat; empty = never anyone)
    rotation_start: datetime  # aware; shift 0 begins here with participants[0]
    shift_length: ShiftLength
    time_zone: str  # IANA zone; daily/weekly shifts hand off at rotation_start's LOCAL wall time
    shift_hours: int = 24  # only for HOURS: shift k begins at rotation_start + k*shift_hours
    restrictions: tuple[Restriction, ...] = ()  # empty = always
    # The layer applies only from starts_at (default and floor: rotation_start) until ends_at
    # (None = forever). Editing a rotation's participants mid-rotation is modelled as ending one
    # Layer and starting another.
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        # Normalised to UTC once: aware datetimes sharing a ZoneInfo compare and subtract by wall
        # clock, which is wrong across DST; rotation_start's own zone carries no meaning (the
        # layer's time_zone does), so nothing is lost.
        object.__setattr__(
            self, "rotation_start", _utc(self.rotation_start, field="rotation_start")
        )
        if self.starts_at is not None:
            object.__setattr__(self, "starts_at", _utc(self.starts_at, field="starts_at"))
        if self.ends_at is not None:
            object.__setattr__(self, "ends_at", _utc(self.ends_at, field="ends_at"))
        _zone(self.time_zone)  # an unknown zone fails here, not at the first page
        if self.shift_length == ShiftLength.HOURS and self.shift_hours <= 0:
            raise ValueError(f"shift_hours must be positive, got {self.shift_hours}")

    @property
    def active_from(self) -> datetime:
        # There is no shift before shift 0, whatever starts_at says.
        if self.starts_at is None:
            return self.rotation_start
        return max(self.starts_at, self.rotation_start)

    @cached_property
    def _local_rotation_start(self) -> datetime:
        return self.rotation_start.astimezone(_zone(self.time_zone))

    def shift_start(self, index: int) -> datetime:
        if self.shift_length == ShiftLength.HOURS:
            return self.rotation_start + index * timedelta(hours=self.shift_hours)
        local = self._local_rotation_start
        days = index * (7 if self.shift_length == ShiftLength.WEEKLY else 1)
        return _localize(local.date() + timedelta(days=days), local.time(), _zone(self.time_zone))

    def shift_index_at(self, moment: datetime) -> int:
        """The k whose shift [shift_start(k), shift_start(k + 1)) holds `moment` (a UTC instant)."""
        if self.shift_length == ShiftLength.HOURS:
            return (moment - self.rotation_start) // timedelta(hours=self.shift_hours)
        zone = _zone(self.time_zone)
        step = 7 if self.shift_length == ShiftLength.WEEKLY else 1
        elapsed = moment.astimezone(zone).date() - self._local_rotation_start.date()
        # Counting local dates gives the index to within one: a handoff wall time skipped by a
        # gap lands later, and where clocks fell back across midnight (St John's before 2011) a
        # local date repeats. Settle it against the instants.
        index = elapsed.days // step
        while self.shift_start(index) > moment:
            index -= 1
        while self.shift_start(index + 1) <= moment:
            index += 1
        return index

    def in_restrictions(self, moment: datetime) -> bool:
        if not self.restrictions:
            return True
        zone = _zone(self.time_zone)
        today = moment.astimezone(zone).date()
        # A window lasts at most a day, but one closing in a gap closes later (two days after
        # opening across Samoa's skipped 30 Dec 2011), and where clocks fell back across
        # midnight an instant's local date can step backwards: look two days back, one ahead.
        for day in _local_days(today - timedelta(days=2), today + timedelta(days=1)):
            for restriction in self.restrictions:
                window = restriction.window_opening_on(day, zone)
                if window is not None and window[0] <= moment < window[1]:
                    return True
        return False

    def user_at(self, moment: datetime) -> int | None:
        if not self.participants or moment < self.active_from:
            return None
        if self.ends_at is not None and moment >= self.ends_at:
            return None
        if not self.in_restrictions(moment):
            return None
        return self.participants[self.shift_index_at(moment) % len(self.participants)]

    def restriction_windows(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The union of the restriction windows meeting [start, end), clipped to it, sorted."""
        zone = _zone(self.time_zone)  # the same margins as in_restrictions, for the same reasons
        first = start.astimezone(zone).date() - timedelta(days=2)
        last = end.astimezone(zone).date() + timedelta(days=1)
        windows = sorted(
            window
            for day in _local_days(first, last)
            for restriction in self.restrictions
            if (window := restriction.window_opening_on(day, zone)) is not None
        )
        return _clip(_merge(windows), start, end)


@dataclass(frozen=True)
class Override:
    id: int  # higher id = created later = wins where overrides overlap
    user_id: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, field="start"))
        object.__setattr__(self, "end", _utc(self.end, field="end"))
        if self.end <= self.start:
            raise ValueError(f"override {self.id} ends at or before it starts")


@dataclass(frozen=True)
class ScheduleSpec:
    id: int
    time_zone: str  # for display only: each layer hands off in its own zone
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Shift:
    user_id: int
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC, > start
    layer_id: int | None  # which layer produced it; None when an override did
    override_id: int | None = None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def _merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    # Precondition: sorted by start.
    merged: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(
    intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def layer_shifts(layer: Layer, start: datetime, end: datetime) -> list[Shift]:
    """The layer's on-call spans meeting [start, end), one per rotation shift (split where a
    restriction window closes), clipped to the window, the layer's active span and its windows."""
    low = max(_utc(start, field="start"), layer.active_from)
    high = _utc(end, field="end")
    if layer.ends_at is not None:
        high = min(high, layer.ends_at)
    if not layer.participants or low >= high:
        return []

    rotation: list[Shift] = []
    index = layer.shift_index_at(low)
    shift_start = layer.shift_start(index)
    while shift_start < high:
        shift_end = layer.shift_start(index + 1)
        if shift_end > shift_start:  # a skipped calendar day (Samoa, 2011) makes an empty shift
            rotation.append(
                Shift(
                    user_id=layer.participants[index % len(layer.participants)],
                    start=max(shift_start, low),
                    end=min(shift_end, high),
                    layer_id=layer.id,
                )
            )
        index += 1
        shift_start = shift_end
    if not layer.restrictions:
        return rotation

    # Where a window cuts a shift the person is on call only inside it; outside, the layer is
    # empty and lower layers show through.
    windows = layer.restriction_windows(low, high)
    pieces: list[Shift] = []
    first = 0  # both lists are sorted and disjoint: walk them together
    for shift in rotation:
        while first < len(windows) and windows[first][1] <= shift.start:
            first += 1
        current = first
        while current < len(windows) and windows[current][0] < shift.end:
            opens, closes = windows[current]
            pieces.append(replace(shift, start=max(shift.start, opens), end=min(shift.end, closes)))
            current += 1
    return pieces


def _override_at(overrides: Iterable[Override], moment: datetime) -> Override | None:
    winner: Override | None = None
    for override in overrides:
        if override.start <= moment < override.end and (winner is None or override.id > winner.id):
            winner = override
    return winner


def who_is_on_call(schedule: ScheduleSpec, at: datetime) -> int | None:
    """Overrides first (the latest id wins), else the highest level layer with someone at `at`
    (equal levels: the higher layer id), else nobody. O(layers + overrides): each layer's shift
    index is computed, not counted up from a rotation start that may be years old."""
    moment = _utc(at, field="at")
    override = _override_at(schedule.overrides, moment)
    if override is not None:
        return override.user_id
    best_rank: tuple[int, int] | None = None
    on_call: int | None = None
    for layer in schedule.layers:
        rank = (layer.level, layer.id)
        if best_rank is not None and rank < best_rank:
            continue
        user = layer.user_at(moment)
        if user is not None:
            best_rank, on_call = rank, user
    return on_call


def shifts(schedule: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule over [start, end): who is on call, and which layer or override put them
    there, as contiguous pieces with gaps where nobody is. Agrees with who_is_on_call everywhere."""
    low, high = _utc(start, field="start"), _utc(end, field="end")
    if low >= high:
        return []

    # Every candidate span with its precedence, negated for heapq's min-heap: overrides above
    # layers, later overrides above earlier ones, then higher levels and higher layer ids, the
    # order who_is_on_call uses.
    candidates: list[tuple[tuple[int, int, int], Shift]] = []
    for layer in schedule.layers:
        precedence = (0, -layer.level, -layer.id)
        candidates.extend((precedence, piece) for piece in layer_shifts(layer, low, high))
    for override in schedule.overrides:
        if override.start < high and override.end > low:
            piece = Shift(
                user_id=override.user_id,
                start=max(override.start, low),
                end=min(override.end, high),
                layer_id=None,
                override_id=override.id,
            )
            candidates.append(((-1, -override.id, 0), piece))
    candidates.sort(key=lambda candidate: candidate[1].start)
    boundaries = sorted({t for _, piece in candidates for t in (piece.start, piece.end)})

    # Sweep the elementary intervals between boundaries, keeping a heap of the spans begun so
    # far; a span that has ended is dropped when it reaches the top.
    begun: list[tuple[tuple[int, int, int], int]] = []
    pending = 0
    final: list[Shift] = []
    for piece_start, piece_end in itertools.pairwise(boundaries):
        while pending < len(candidates) and candidates[pending][1].start <= piece_start:
            heapq.heappush(begun, (candidates[pending][0], pending))
            pending += 1
        while begun and candidates[begun[0][1]][1].end <= piece_start:
            heapq.heappop(begun)
        if not begun:
            continue
        winner = candidates[begun[0][1]][1]
        previous = final[-1] if final else None
        if (
            previous is not None
            and previous.end == piece_start
            and (previous.user_id, previous.layer_id, previous.override_id)
            == (winner.user_id, winner.layer_id, winner.override_id)
        ):
            final[-1] = replace(previous, end=piece_end)
        else:
            final.append(replace(winner, start=piece_start, end=piece_end))
    return final


def next_shift(
    schedule: ScheduleSpec, at: datetime, *, horizon: timedelta = NEXT_SHIFT_HORIZON
) -> Shift | None:
    """The first final piece starting after `at` whose user differs from whoever is on call at
    `at` (gaps are skipped), starting within `horizon` of `at` and clipped at `horizon` past its
    own start; None if there is none."""
    moment = _utc(at, field="at")
    now = who_is_on_call(schedule, moment)
    # Most rotations hand off within a week: look a week ahead first, then further, rather than
    # lay out the whole horizon. A piece cut at a chunk's start continues one whose user is `now`
    # (any other would have been returned), so it is skipped as it should be.
    searched, chunk = moment, NEXT_SHIFT_FIRST_LOOK
    while searched < moment + horizon:
        limit = min(searched + chunk, moment + horizon)
        for piece in shifts(schedule, searched, limit):
            if piece.start > moment and piece.user_id != now:
                if piece.end == limit:
                    # Cut at the end of the search: its real end may lie further on.
                    return shifts(schedule, piece.start, piece.start + horizon)[0]
                return piece
        searched, chunk = limit, chunk * 4
    return None
