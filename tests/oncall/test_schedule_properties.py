"""Properties of the schedule arithmetic over random layers, zones, windows and overrides.

Windows are drawn near DST changes in the zones under test as often as anywhere else, since that
is where handoff arithmetic goes wrong.
"""

import bisect
import dataclasses
import itertools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncall.schedules import (
    Layer,
    Override,
    Restriction,
    ScheduleSpec,
    Shift,
    ShiftLength,
    layer_shifts,
    next_shift,
    shifts,
    who_is_on_call,
)

ZONES = [
    "Europe/London",
    "America/Chicago",
    "Australia/Lord_Howe",
    "UTC",
    "Asia/Kolkata",
    "America/St_Johns",
]

# Instants at or near the clock changes of the zones above.
DST_CHANGES = [
    datetime(2024, 3, 10, 8, tzinfo=UTC),  # Chicago springs forward
    datetime(2024, 11, 3, 7, tzinfo=UTC),  # Chicago falls back
    datetime(2024, 3, 31, 1, tzinfo=UTC),  # London springs forward
    datetime(2024, 10, 27, 1, tzinfo=UTC),  # London falls back
    datetime(2024, 10, 5, 15, 30, tzinfo=UTC),  # Lord Howe springs forward 30 minutes
    datetime(2025, 4, 5, 15, tzinfo=UTC),  # Lord Howe falls back 30 minutes
    datetime(2024, 3, 10, 5, 30, tzinfo=UTC),  # St John's springs forward
    datetime(2024, 11, 3, 4, 30, tzinfo=UTC),  # St John's falls back
]

QUARTER = timedelta(minutes=15)

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


NEAR_DST = st.builds(
    lambda change, quarters: change + quarters * QUARTER,
    st.sampled_from(DST_CHANGES),
    st.integers(-10 * 96, 2 * 96),
)
ANYWHEN = st.integers(0, 2 * 365 * 96).map(lambda n: datetime(2024, 1, 1, tzinfo=UTC) + n * QUARTER)
ODD_SECONDS = st.sampled_from([0, 0, 0, 1, 59]).map(lambda n: timedelta(seconds=n))
# Quarter hours reach into every gap and fold of the zones under test. Each value is one draw
# (a quarter-hour index, a weekday bitmask) to keep examples cheap to generate.
WALL_TIMES = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))
WEEKDAY_SETS = st.integers(0, 127).map(lambda bits: frozenset(d for d in range(7) if bits >> d & 1))
RESTRICTIONS = st.lists(
    st.builds(Restriction, start=WALL_TIMES, end=WALL_TIMES, weekdays=WEEKDAY_SETS),
    min_size=1,
    max_size=3,
).map(tuple)
PARTICIPANTS = st.lists(st.integers(1, 5), min_size=1, max_size=5).map(tuple)
ROTATION_DAYS = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31))


def windows(*, max_days: int = 20) -> st.SearchStrategy[tuple[datetime, datetime]]:
    return st.builds(
        lambda start, odd, quarters: (start + odd, start + odd + quarters * QUARTER),
        NEAR_DST | ANYWHEN,
        ODD_SECONDS,
        st.integers(1, max_days * 96),
    )


@st.composite
def layers(
    draw: st.DrawFn, *, layer_id: int = 1, restricted: bool | None = False, bounded: bool = False
) -> Layer:
    zone = draw(st.sampled_from(ZONES))
    wall = draw(WALL_TIMES).replace(fold=draw(st.integers(0, 1)))
    rotation_start = datetime.combine(draw(ROTATION_DAYS), wall, tzinfo=ZoneInfo(zone))
    if restricted is None:
        restricted = draw(st.booleans())
    return Layer(
        id=layer_id,
        level=draw(st.integers(0, 2)),
        participants=draw(PARTICIPANTS),
        rotation_start=rotation_start,
        shift_length=draw(st.sampled_from(ShiftLength)),
        time_zone=zone,
        shift_hours=draw(st.integers(1, 72)),
        restrictions=draw(RESTRICTIONS) if restricted else (),
        starts_at=draw(st.none() | ANYWHEN) if bounded else None,
        ends_at=draw(st.none() | ANYWHEN) if bounded else None,
    )


def follows_rotation(users: list[int], participants: tuple[int, ...]) -> bool:
    n = len(participants)
    return any(
        all(user == participants[(first + i) % n] for i, user in enumerate(users))
        for first in range(n)
    )


def wall_time_exists(day: date, wall: time, zone: ZoneInfo) -> bool:
    naive = datetime.combine(day, wall)
    round_trip = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == naive


def union(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def restriction_windows_by_hand(
    layer: Layer, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    # Straight from the definition: each window opens on a local date at its start wall time and
    # closes at its end wall time that day, or the next when end <= start; fold=0 localisation.
    zone = ZoneInfo(layer.time_zone)
    day = start.astimezone(zone).date() - timedelta(days=3)
    found = []
    while day <= end.astimezone(zone).date() + timedelta(days=1):
        for restriction in layer.restrictions:
            if restriction.weekdays and day.weekday() not in restriction.weekdays:
                continue
            closing_day = day if restriction.end > restriction.start else day + timedelta(days=1)
            opens = datetime.combine(day, restriction.start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(closing_day, restriction.end, tzinfo=zone).astimezone(UTC)
            if opens < closes:
                found.append((max(opens, start), min(closes, end)))
        day += timedelta(days=1)
    return [(s, e) for s, e in union(found) if s < e]


def assert_sorted_without_overlap(pieces: list[Shift]) -> None:
    for piece in pieces:
        assert piece.start < piece.end
        assert piece.start.utcoffset() == timedelta(0)
    for before, after in itertools.pairwise(pieces):
        assert before.end <= after.start


@PROPERTIES
@given(layer=layers(), window=windows())
def test_unrestricted_layer_tiles_the_window_in_rotation_order(
    layer: Layer, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    pieces = layer_shifts(layer, start, end)
    begins = max(start, layer.rotation_start)
    if begins >= end:
        assert pieces == []
        return
    assert pieces[0].start == begins
    assert pieces[-1].end == end
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start
    assert all(piece.start < piece.end for piece in pieces)
    assert follows_rotation([piece.user_id for piece in pieces], layer.participants)


@PROPERTIES
@given(layer=layers(), window=windows())
def test_unrestricted_layer_hands_off_at_its_wall_time_or_elapsed_hours(
    layer: Layer, window: tuple[datetime, datetime]
) -> None:
    zone = ZoneInfo(layer.time_zone)
    pieces = layer_shifts(layer, *window)
    handoffs = [piece.start for piece in pieces[1:]]
    if layer.shift_length == ShiftLength.HOURS:
        period = timedelta(hours=layer.shift_hours)
        assert all(
            (handoff - layer.rotation_start) % period == timedelta(0) for handoff in handoffs
        )
        assert all(piece.end - piece.start == period for piece in pieces[1:-1])
        return
    wall = layer.rotation_start.astimezone(zone).time()
    for handoff in handoffs:
        local = handoff.astimezone(zone)
        on_time = local.time() == wall and local.fold == 0  # the first occurrence if ambiguous
        # Otherwise the wall time was skipped that day (or the day before, for a gap that
        # reaches past midnight), and the handoff came after the gap.
        skipped = not wall_time_exists(local.date(), wall, zone) or not wall_time_exists(
            local.date() - timedelta(days=1), wall, zone
        )
        assert on_time or (skipped and local.time() > wall)
    step = timedelta(days=7 if layer.shift_length == ShiftLength.WEEKLY else 1)
    for piece in pieces[1:-1]:
        assert abs(piece.end - piece.start - step) <= timedelta(hours=1)


@PROPERTIES
@given(layer=layers(restricted=True), window=windows())
def test_restricted_layer_is_on_call_exactly_inside_its_windows(
    layer: Layer, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    pieces = layer_shifts(layer, start, end)
    assert_sorted_without_overlap(pieces)
    begins = max(start, layer.rotation_start)
    expected = restriction_windows_by_hand(layer, begins, end) if begins < end else []
    assert union([(piece.start, piece.end) for piece in pieces]) == expected


@PROPERTIES
@given(layer=layers(restricted=True), window=windows())
def test_restricted_layer_keeps_the_rotation_user_of_each_instant(
    layer: Layer, window: tuple[datetime, datetime]
) -> None:
    unrestricted = Layer(
        id=layer.id,
        level=layer.level,
        participants=layer.participants,
        rotation_start=layer.rotation_start,
        shift_length=layer.shift_length,
        time_zone=layer.time_zone,
        shift_hours=layer.shift_hours,
    )
    rotation = layer_shifts(unrestricted, *window)
    starts = [shift.start for shift in rotation]
    for piece in layer_shifts(layer, *window):
        covering = rotation[bisect.bisect_right(starts, piece.start) - 1]
        assert covering.start <= piece.start and piece.end <= covering.end
        assert covering.user_id == piece.user_id


SCHEDULE_LAYERS = [layers(layer_id=n, restricted=None, bounded=True) for n in (1, 2, 3)]


@st.composite
def schedules(draw: st.DrawFn, *, window: tuple[datetime, datetime]) -> ScheduleSpec:
    drawn = tuple(draw(layer) for layer in SCHEDULE_LAYERS[: draw(st.integers(1, 3))])
    start, end = window
    quarters = int((end - start) / QUARTER)
    ids = draw(st.permutations(range(1, 7)))
    overrides = []
    for override_id in ids[: draw(st.integers(0, 6))]:
        begins = start + draw(st.integers(-96, quarters)) * QUARTER
        overrides.append(
            Override(
                id=override_id,
                user_id=draw(st.integers(1, 7)),
                start=begins,
                end=begins + draw(st.integers(1, 3 * 96)) * QUARTER,
            )
        )
    return ScheduleSpec(id=1, time_zone="UTC", layers=drawn, overrides=tuple(overrides))


def covering_user(pieces: list[Shift], moment: datetime) -> int | None:
    covering = [piece for piece in pieces if piece.start <= moment < piece.end]
    assert len(covering) <= 1
    return covering[0].user_id if covering else None


@PROPERTIES
@given(data=st.data(), window=windows(max_days=8))
def test_who_is_on_call_agrees_with_the_final_schedule(
    data: st.DataObject, window: tuple[datetime, datetime]
) -> None:
    start, end = window
    plan = data.draw(schedules(window=window))
    pieces = shifts(plan, start, end)
    assert_sorted_without_overlap(pieces)
    assert all(start <= piece.start and piece.end <= end for piece in pieces)
    for before, after in itertools.pairwise(pieces):
        same_source = (before.user_id, before.layer_id, before.override_id) == (
            after.user_id,
            after.layer_id,
            after.override_id,
        )
        assert not (before.end == after.start and same_source)
    assert all((piece.layer_id is None) == (piece.override_id is not None) for piece in pieces)

    # Every boundary, the instant before it, and random instants in between (from one drawn
    # seed: a draw per instant would make the examples slow to generate).
    moments = {start, end - timedelta(microseconds=1)}
    for piece in pieces:
        moments |= {piece.start, piece.end - timedelta(microseconds=1)}
    for override in plan.overrides:
        moments |= {override.start, override.end - timedelta(microseconds=1)}
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    span = int((end - start).total_seconds())
    moments |= {start + timedelta(seconds=rng.randrange(span)) for _ in range(30)}
    for moment in sorted(m for m in moments if start <= m < end):
        assert who_is_on_call(plan, moment) == covering_user(pieces, moment), moment


@PROPERTIES
@given(data=st.data(), window=windows(max_days=8))
def test_next_shift_is_the_first_change_of_person_in_the_final_schedule(
    data: st.DataObject, window: tuple[datetime, datetime]
) -> None:
    start, _ = window
    plan = data.draw(schedules(window=window))
    horizon = timedelta(days=10)  # more than the first week next_shift looks at
    now = who_is_on_call(plan, start)
    laid_out = shifts(plan, start, start + 2 * horizon)
    changes = [
        piece
        for piece in laid_out
        if start < piece.start < start + horizon and piece.user_id != now
    ]
    expected = (
        dataclasses.replace(changes[0], end=min(changes[0].end, changes[0].start + horizon))
        if changes
        else None
    )
    assert next_shift(plan, start, horizon=horizon) == expected
