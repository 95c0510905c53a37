"""On-call schedule arithmetic, one behaviour per test.

Expected instants are written out by hand as UTC literals, with the local wall time they stand
for in a comment, so a test fails when the arithmetic does, not along with it.
"""

import time as clock
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

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

ALICE, BOB, CAROL, DAN, ERIN = 1, 2, 3, 4, 5

LONDON = ZoneInfo("Europe/London")
CHICAGO = ZoneInfo("America/Chicago")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

EVERY_DAY = frozenset[int]()
WEEKDAYS = frozenset({0, 1, 2, 3, 4})
FRIDAY, SATURDAY, MONDAY = frozenset({4}), frozenset({5}), frozenset({0})


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def make_layer(
    *,
    rotation_start: datetime,
    layer_id: int = 1,
    level: int = 0,
    participants: tuple[int, ...] = (ALICE, BOB, CAROL),
    shift_length: ShiftLength = ShiftLength.DAILY,
    time_zone: str = "UTC",
    **extra: Any,
) -> Layer:
    return Layer(
        id=layer_id,
        level=level,
        participants=participants,
        rotation_start=rotation_start,
        shift_length=shift_length,
        time_zone=time_zone,
        **extra,
    )


def schedule(*layers: Layer, overrides: tuple[Override, ...] = ()) -> ScheduleSpec:
    return ScheduleSpec(id=1, time_zone="UTC", layers=layers, overrides=overrides)


def spans(pieces: list[Shift]) -> list[tuple[int, datetime, datetime]]:
    return [(piece.user_id, piece.start, piece.end) for piece in pieces]


def sources(pieces: list[Shift]) -> list[tuple[int, datetime, datetime, int | None, int | None]]:
    return [(p.user_id, p.start, p.end, p.layer_id, p.override_id) for p in pieces]


def playbook_layer(**extra: Any) -> Layer:
    # The playbook default: weekly, handed off Monday 09:00 UTC among three people.
    defaults: dict[str, Any] = {
        "rotation_start": utc(2024, 1, 1, 9),
        "shift_length": ShiftLength.WEEKLY,
    }
    return make_layer(**(defaults | extra))


def business_hours(weekdays: frozenset[int] = EVERY_DAY) -> tuple[Restriction, ...]:
    return (Restriction(start=time(9), end=time(17), weekdays=weekdays),)


def daily_from_monday(**extra: Any) -> Layer:
    # Daily at 00:00 UTC from Monday 2024-01-01: Alice on even days, Bob on odd.
    defaults: dict[str, Any] = {"rotation_start": utc(2024, 1, 1), "participants": (ALICE, BOB)}
    return make_layer(**(defaults | extra))


def test_playbook_first_week_is_first_participant() -> None:
    assert who_is_on_call(schedule(playbook_layer()), utc(2024, 1, 3, 12)) == ALICE


def test_playbook_hands_off_monday_0900_utc() -> None:
    plan = schedule(playbook_layer())
    assert who_is_on_call(plan, utc(2024, 1, 8, 8, 59, 59)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 8, 9)) == BOB


def test_handoff_instant_belongs_to_incoming_person() -> None:
    plan = schedule(playbook_layer())
    assert who_is_on_call(plan, utc(2024, 1, 15, 9)) == CAROL
    assert who_is_on_call(plan, utc(2024, 1, 15, 8, 59, 59, 999999)) == BOB


def test_playbook_rotation_comes_back_to_first_participant_after_three_weeks() -> None:
    assert who_is_on_call(schedule(playbook_layer()), utc(2024, 1, 22, 9)) == ALICE


def test_playbook_layer_shifts_list_each_week_clipped_to_window() -> None:
    pieces = layer_shifts(playbook_layer(), utc(2024, 1, 1), utc(2024, 1, 29))
    assert spans(pieces) == [
        (ALICE, utc(2024, 1, 1, 9), utc(2024, 1, 8, 9)),
        (BOB, utc(2024, 1, 8, 9), utc(2024, 1, 15, 9)),
        (CAROL, utc(2024, 1, 15, 9), utc(2024, 1, 22, 9)),
        (ALICE, utc(2024, 1, 22, 9), utc(2024, 1, 29)),
    ]
    assert {piece.layer_id for piece in pieces} == {1}


def test_rotation_started_years_ago_is_computed_arithmetically() -> None:
    # 2030-06-03 is a Monday 2,345 days = 335 weeks after 2024-01-01; 335 % 3 == 2.
    plan = schedule(playbook_layer())
    assert who_is_on_call(plan, utc(2030, 6, 3, 8, 59, 59)) == BOB
    assert who_is_on_call(plan, utc(2030, 6, 3, 9)) == CAROL
    assert who_is_on_call(plan, utc(2030, 6, 5, 12)) == CAROL


def test_who_is_on_call_accepts_an_instant_in_any_zone() -> None:
    # 03:00 CST on 2024-01-08 is 09:00 UTC, the handoff to Bob.
    at = datetime(2024, 1, 8, 3, tzinfo=CHICAGO)
    assert who_is_on_call(schedule(playbook_layer()), at) == BOB


def test_shifts_are_returned_in_utc_whatever_zone_the_window_is_given_in() -> None:
    pieces = shifts(
        schedule(playbook_layer()),
        datetime(2024, 1, 8, 0, tzinfo=CHICAGO),
        datetime(2024, 1, 9, 0, tzinfo=CHICAGO),
    )
    assert spans(pieces) == [
        (ALICE, utc(2024, 1, 8, 6), utc(2024, 1, 8, 9)),  # from 00:00 CST
        (BOB, utc(2024, 1, 8, 9), utc(2024, 1, 9, 6)),  # to 00:00 CST next day
    ]
    assert all(piece.start.tzinfo is UTC and piece.end.tzinfo is UTC for piece in pieces)


@pytest.mark.parametrize(
    ("rotation_start", "since", "until", "expected"),
    [
        pytest.param(
            datetime(2024, 3, 29, 9, tzinfo=LONDON),
            utc(2024, 3, 29),
            utc(2024, 4, 2),
            [
                (ALICE, utc(2024, 3, 29, 9), utc(2024, 3, 30, 9)),  # 09:00 GMT
                (BOB, utc(2024, 3, 30, 9), utc(2024, 3, 31, 8)),  # to 09:00 BST: 23 hours
                (CAROL, utc(2024, 3, 31, 8), utc(2024, 4, 1, 8)),  # 09:00 BST
                (ALICE, utc(2024, 4, 1, 8), utc(2024, 4, 2)),
            ],
            id="London spring forward: a 23-hour shift",
        ),
        pytest.param(
            datetime(2024, 10, 25, 9, tzinfo=LONDON),
            utc(2024, 10, 25),
            utc(2024, 10, 29),
            [
                (ALICE, utc(2024, 10, 25, 8), utc(2024, 10, 26, 8)),  # 09:00 BST
                (BOB, utc(2024, 10, 26, 8), utc(2024, 10, 27, 9)),  # to 09:00 GMT: 25 hours
                (CAROL, utc(2024, 10, 27, 9), utc(2024, 10, 28, 9)),
                (ALICE, utc(2024, 10, 28, 9), utc(2024, 10, 29)),
            ],
            id="London fall back: a 25-hour shift",
        ),
        pytest.param(
            # 01:30 does not exist on 2024-03-31 (01:00 GMT -> 02:00 BST); read with the GMT
            # offset it is 01:30 UTC, i.e. 02:30 BST.
            datetime(2024, 3, 30, 1, 30, tzinfo=LONDON),
            utc(2024, 3, 30),
            utc(2024, 4, 1, 12),
            [
                (ALICE, utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 30)),  # 01:30 GMT to 02:30 BST
                (BOB, utc(2024, 3, 31, 1, 30), utc(2024, 4, 1, 0, 30)),  # to 01:30 BST: 23 hours
                (CAROL, utc(2024, 4, 1, 0, 30), utc(2024, 4, 1, 12)),
            ],
            id="London handoff inside the gap: an hour later",
        ),
        pytest.param(
            datetime(2024, 3, 8, 9, tzinfo=CHICAGO),
            utc(2024, 3, 8),
            utc(2024, 3, 12),
            [
                (ALICE, utc(2024, 3, 8, 15), utc(2024, 3, 9, 15)),  # 09:00 CST
                (BOB, utc(2024, 3, 9, 15), utc(2024, 3, 10, 14)),  # to 09:00 CDT: 23 hours
                (CAROL, utc(2024, 3, 10, 14), utc(2024, 3, 11, 14)),
                (ALICE, utc(2024, 3, 11, 14), utc(2024, 3, 12)),
            ],
            id="Chicago spring forward: a 23-hour shift",
        ),
        pytest.param(
            # 02:30 does not exist on 2024-03-10 (02:00 CST -> 03:00 CDT); with the CST offset it
            # is 08:30 UTC, which reads 03:30 CDT.
            datetime(2024, 3, 9, 2, 30, tzinfo=CHICAGO),
            utc(2024, 3, 9),
            utc(2024, 3, 11, 12),
            [
                (ALICE, utc(2024, 3, 9, 8, 30), utc(2024, 3, 10, 8, 30)),  # 02:30 CST to 03:30 CDT
                (BOB, utc(2024, 3, 10, 8, 30), utc(2024, 3, 11, 7, 30)),  # to 02:30 CDT
                (CAROL, utc(2024, 3, 11, 7, 30), utc(2024, 3, 11, 12)),
            ],
            id="Chicago handoff inside the gap: after the gap",
        ),
        pytest.param(
            # 01:30 happens twice on 2024-11-03: first as CDT (06:30 UTC), then as CST (07:30 UTC).
            datetime(2024, 11, 1, 1, 30, tzinfo=CHICAGO),
            utc(2024, 11, 1),
            utc(2024, 11, 4, 12),
            [
                (ALICE, utc(2024, 11, 1, 6, 30), utc(2024, 11, 2, 6, 30)),  # 01:30 CDT
                (BOB, utc(2024, 11, 2, 6, 30), utc(2024, 11, 3, 6, 30)),  # to the first 01:30, CDT
                (CAROL, utc(2024, 11, 3, 6, 30), utc(2024, 11, 4, 7, 30)),  # to 01:30 CST: 25 hours
                (ALICE, utc(2024, 11, 4, 7, 30), utc(2024, 11, 4, 12)),
            ],
            id="Chicago ambiguous handoff: the first 01:30",
        ),
    ],
)
def test_a_daily_rotation_across_a_clock_change_hands_off_at_the_wall_time(
    rotation_start: datetime,
    since: datetime,
    until: datetime,
    expected: list[tuple[int, datetime, datetime]],
) -> None:
    zone = rotation_start.tzinfo
    assert isinstance(zone, ZoneInfo)
    layer = make_layer(rotation_start=rotation_start, time_zone=zone.key)
    assert spans(layer_shifts(layer, since, until)) == expected


def test_chicago_handoff_inside_gap_keeps_outgoing_person_until_after_the_gap() -> None:
    layer = make_layer(
        rotation_start=datetime(2024, 3, 9, 2, 30, tzinfo=CHICAGO), time_zone="America/Chicago"
    )
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2024, 3, 10, 8, 29)) == ALICE  # 03:29 CDT
    assert who_is_on_call(plan, utc(2024, 3, 10, 8, 30)) == BOB  # 03:30 CDT


def test_lord_howe_handoff_inside_half_hour_gap_lands_thirty_minutes_late() -> None:
    # Lord Howe jumps 02:00 -> 02:30 on Sunday 2024-10-06. 02:15 that day is read with the
    # +10:30 offset: 15:45 UTC on the 5th, which reads 02:45 +11:00.
    layer = make_layer(
        rotation_start=datetime(2024, 10, 5, 2, 15, tzinfo=LORD_HOWE),
        time_zone="Australia/Lord_Howe",
    )
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2024, 10, 5, 15, 44, 59)) == ALICE  # 02:44:59 +11:00
    assert who_is_on_call(plan, utc(2024, 10, 5, 15, 45)) == BOB  # 02:45 +11:00


def test_lord_howe_daily_shift_is_23_and_a_half_hours_on_spring_forward_day() -> None:
    layer = make_layer(
        rotation_start=datetime(2024, 10, 5, 2, 15, tzinfo=LORD_HOWE),
        time_zone="Australia/Lord_Howe",
    )
    assert spans(layer_shifts(layer, utc(2024, 10, 4), utc(2024, 10, 7, 12))) == [
        (ALICE, utc(2024, 10, 4, 15, 45), utc(2024, 10, 5, 15, 45)),  # 02:15 +10:30
        (BOB, utc(2024, 10, 5, 15, 45), utc(2024, 10, 6, 15, 15)),  # to 02:15 +11:00: 23.5 h
        (CAROL, utc(2024, 10, 6, 15, 15), utc(2024, 10, 7, 12)),
    ]


def test_lord_howe_daily_shift_is_24_and_a_half_hours_on_fall_back_day() -> None:
    # Lord Howe falls back 02:00 +11:00 -> 01:30 +10:30 on Sunday 2025-04-06.
    layer = make_layer(
        rotation_start=datetime(2025, 4, 4, 9, tzinfo=LORD_HOWE), time_zone="Australia/Lord_Howe"
    )
    assert spans(layer_shifts(layer, utc(2025, 4, 3), utc(2025, 4, 7))) == [
        (ALICE, utc(2025, 4, 3, 22), utc(2025, 4, 4, 22)),  # 09:00 +11:00
        (BOB, utc(2025, 4, 4, 22), utc(2025, 4, 5, 22, 30)),  # to 09:00 +10:30: 24.5 hours
        (CAROL, utc(2025, 4, 5, 22, 30), utc(2025, 4, 6, 22, 30)),
        (ALICE, utc(2025, 4, 6, 22, 30), utc(2025, 4, 7)),
    ]


def test_ambiguous_lord_howe_handoff_uses_first_occurrence() -> None:
    # 01:45 happens twice on 2025-04-06: at +11:00 (14:45 UTC on the 5th), then at +10:30.
    layer = make_layer(
        rotation_start=datetime(2025, 4, 5, 1, 45, tzinfo=LORD_HOWE),
        time_zone="Australia/Lord_Howe",
    )
    assert spans(layer_shifts(layer, utc(2025, 4, 4), utc(2025, 4, 6, 18))) == [
        (ALICE, utc(2025, 4, 4, 14, 45), utc(2025, 4, 5, 14, 45)),  # 01:45 +11:00
        (BOB, utc(2025, 4, 5, 14, 45), utc(2025, 4, 6, 15, 15)),  # to 01:45 +10:30: 24.5 h
        (CAROL, utc(2025, 4, 6, 15, 15), utc(2025, 4, 6, 18)),
    ]


def test_handoff_before_st_johns_midnight_fall_back_holds_through_the_repeated_hour() -> None:
    # Until 2011 St John's fell back at 00:01 to 23:01 the day before. The 00:00 handoff on
    # 2010-11-07 happens at 02:30 UTC (-02:30); the next hour reads Saturday 23:xx again.
    layer = make_layer(
        rotation_start=datetime(2010, 11, 5, tzinfo=ZoneInfo("America/St_Johns")),
        time_zone="America/St_Johns",
    )
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2010, 11, 7, 2, 29)) == BOB  # Sat 23:59 -02:30
    assert who_is_on_call(plan, utc(2010, 11, 7, 2, 45)) == CAROL  # Sat 23:14 -03:30
    assert spans(layer_shifts(layer, utc(2010, 11, 6), utc(2010, 11, 8, 12))) == [
        (ALICE, utc(2010, 11, 6), utc(2010, 11, 6, 2, 30)),
        (BOB, utc(2010, 11, 6, 2, 30), utc(2010, 11, 7, 2, 30)),  # Sat 00:00 -02:30
        (CAROL, utc(2010, 11, 7, 2, 30), utc(2010, 11, 8, 3, 30)),  # to Mon 00:00 -03:30
        (ALICE, utc(2010, 11, 8, 3, 30), utc(2010, 11, 8, 12)),
    ]


def test_skipped_calendar_day_skips_that_days_turn() -> None:
    # 2011-12-30 never happened in Apia: 29 Dec 09:00 -10:00 is followed by 31 Dec 09:00 +14:00,
    # 24 hours later, and Carol's turn (30 Dec) has no time at all.
    layer = make_layer(
        rotation_start=datetime(2011, 12, 28, 9, tzinfo=ZoneInfo("Pacific/Apia")),
        time_zone="Pacific/Apia",
    )
    assert spans(layer_shifts(layer, utc(2011, 12, 28), utc(2012, 1, 1))) == [
        (ALICE, utc(2011, 12, 28, 19), utc(2011, 12, 29, 19)),  # 28 Dec 09:00 -10:00
        (BOB, utc(2011, 12, 29, 19), utc(2011, 12, 30, 19)),  # to 31 Dec 09:00 +14:00
        (ALICE, utc(2011, 12, 30, 19), utc(2011, 12, 31, 19)),
        (BOB, utc(2011, 12, 31, 19), utc(2012, 1, 1)),
    ]
    assert who_is_on_call(schedule(layer), utc(2011, 12, 30, 19)) == ALICE


def test_weekly_shift_is_167_hours_across_london_spring_forward() -> None:
    layer = make_layer(
        rotation_start=datetime(2024, 3, 25, 9, tzinfo=LONDON),  # Monday 09:00 GMT
        shift_length=ShiftLength.WEEKLY,
        time_zone="Europe/London",
    )
    assert spans(layer_shifts(layer, utc(2024, 3, 25), utc(2024, 4, 9))) == [
        (ALICE, utc(2024, 3, 25, 9), utc(2024, 4, 1, 8)),  # to Monday 09:00 BST
        (BOB, utc(2024, 4, 1, 8), utc(2024, 4, 8, 8)),
        (CAROL, utc(2024, 4, 8, 8), utc(2024, 4, 9)),
    ]


def test_weekly_rotation_steps_over_leap_day_and_dst() -> None:
    # Thursdays 09:00 Chicago: 2024-02-29 is a Thursday; DST starts 2024-03-10.
    layer = make_layer(
        rotation_start=datetime(2024, 2, 22, 9, tzinfo=CHICAGO),
        shift_length=ShiftLength.WEEKLY,
        time_zone="America/Chicago",
    )
    assert spans(layer_shifts(layer, utc(2024, 2, 22), utc(2024, 3, 15))) == [
        (ALICE, utc(2024, 2, 22, 15), utc(2024, 2, 29, 15)),  # 09:00 CST
        (BOB, utc(2024, 2, 29, 15), utc(2024, 3, 7, 15)),  # leap day, 09:00 CST
        (CAROL, utc(2024, 3, 7, 15), utc(2024, 3, 14, 14)),  # to 09:00 CDT
        (ALICE, utc(2024, 3, 14, 14), utc(2024, 3, 15)),
    ]


def test_weekly_rotation_anchored_on_leap_day_keeps_its_weekday() -> None:
    # 2025-02-27 (a Thursday) is 364 days = 52 weeks after 2024-02-29; 52 % 3 == 1.
    layer = make_layer(rotation_start=utc(2024, 2, 29, 9), shift_length=ShiftLength.WEEKLY)
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2025, 2, 27, 8, 59)) == ALICE
    assert who_is_on_call(plan, utc(2025, 2, 27, 9)) == BOB
    assert who_is_on_call(plan, utc(2025, 3, 1, 9)) == BOB


def test_hours_rotation_counts_elapsed_time_through_dst() -> None:
    # 12-hour shifts from 20:00 CST on 2024-03-09; the clocks jump at 08:00 UTC on the 10th,
    # so the second handoff reads 09:00 CDT rather than 08:00.
    layer = make_layer(
        rotation_start=datetime(2024, 3, 9, 20, tzinfo=CHICAGO),
        participants=(ALICE, BOB),
        shift_length=ShiftLength.HOURS,
        shift_hours=12,
        time_zone="America/Chicago",
    )
    assert spans(layer_shifts(layer, utc(2024, 3, 10), utc(2024, 3, 11, 14))) == [
        (ALICE, utc(2024, 3, 10, 2), utc(2024, 3, 10, 14)),  # 20:00 CST to 09:00 CDT
        (BOB, utc(2024, 3, 10, 14), utc(2024, 3, 11, 2)),
        (ALICE, utc(2024, 3, 11, 2), utc(2024, 3, 11, 14)),
    ]


def test_hours_rotation_hands_off_every_shift_hours() -> None:
    layer = make_layer(
        rotation_start=utc(2024, 1, 1), shift_length=ShiftLength.HOURS, shift_hours=8
    )
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2024, 1, 1, 7, 59)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 1, 8)) == BOB
    assert who_is_on_call(plan, utc(2024, 1, 1, 16)) == CAROL
    assert who_is_on_call(plan, utc(2024, 1, 2)) == ALICE


def test_rotation_starting_in_future_has_nobody_before_it() -> None:
    layer = playbook_layer(rotation_start=utc(2030, 1, 7, 9))
    plan = schedule(layer)
    assert who_is_on_call(plan, utc(2030, 1, 7, 8, 59, 59)) is None
    assert who_is_on_call(plan, utc(2030, 1, 7, 9)) == ALICE
    assert spans(layer_shifts(layer, utc(2030, 1, 1), utc(2030, 1, 15))) == [
        (ALICE, utc(2030, 1, 7, 9), utc(2030, 1, 14, 9)),
        (BOB, utc(2030, 1, 14, 9), utc(2030, 1, 15)),
    ]


def test_starts_at_before_rotation_start_does_not_bring_it_forward() -> None:
    plan = schedule(playbook_layer(starts_at=utc(2024, 1, 1)))
    assert who_is_on_call(plan, utc(2024, 1, 1, 8)) is None


def test_starts_at_mid_rotation_picks_up_the_rotation_where_it_is() -> None:
    layer = playbook_layer(starts_at=utc(2024, 1, 10))
    assert who_is_on_call(schedule(layer), utc(2024, 1, 9, 23, 59)) is None
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 16))) == [
        (BOB, utc(2024, 1, 10), utc(2024, 1, 15, 9)),
        (CAROL, utc(2024, 1, 15, 9), utc(2024, 1, 16)),
    ]


def test_ends_at_is_the_first_instant_without_the_layer() -> None:
    plan = schedule(playbook_layer(ends_at=utc(2024, 1, 10)))
    assert who_is_on_call(plan, utc(2024, 1, 9, 23, 59, 59)) == BOB
    assert who_is_on_call(plan, utc(2024, 1, 10)) is None


def test_layer_without_participants_never_has_anyone() -> None:
    layer = playbook_layer(participants=())
    assert who_is_on_call(schedule(layer), utc(2024, 1, 3)) is None
    assert layer_shifts(layer, utc(2024, 1, 1), utc(2024, 2, 1)) == []


def test_schedule_without_layers_has_nobody_on_call() -> None:
    assert who_is_on_call(schedule(), utc(2024, 1, 3)) is None
    assert shifts(schedule(), utc(2024, 1, 1), utc(2024, 1, 2)) == []


def test_repeated_participant_takes_each_of_their_turns() -> None:
    layer = daily_from_monday(participants=(ALICE, ALICE, BOB))
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 5))) == [
        (ALICE, utc(2024, 1, 1), utc(2024, 1, 2)),
        (ALICE, utc(2024, 1, 2), utc(2024, 1, 3)),
        (BOB, utc(2024, 1, 3), utc(2024, 1, 4)),
        (ALICE, utc(2024, 1, 4), utc(2024, 1, 5)),
    ]


def change_participants(participants: tuple[int, ...], *, at: datetime) -> tuple[Layer, Layer]:
    """Participants changed mid-rotation: one layer ends where the next begins."""
    return (
        playbook_layer(layer_id=1, ends_at=at),
        playbook_layer(layer_id=2, participants=participants, starts_at=at),
    )


def test_participant_added_mid_rotation_switches_at_change_instant() -> None:
    # Week 2 (from 2024-01-15 09:00) is Carol's in the old order, Dan's (index 2) in the new.
    plan = schedule(*change_participants((ALICE, BOB, DAN, CAROL), at=utc(2024, 1, 17, 12)))
    assert who_is_on_call(plan, utc(2024, 1, 17, 11, 59, 59)) == CAROL
    assert who_is_on_call(plan, utc(2024, 1, 17, 12)) == DAN


def test_participant_added_mid_rotation_continues_rotation_arithmetic() -> None:
    plan = schedule(*change_participants((ALICE, BOB, DAN, CAROL), at=utc(2024, 1, 17, 12)))
    assert sources(shifts(plan, utc(2024, 1, 15, 9), utc(2024, 2, 5, 9))) == [
        (CAROL, utc(2024, 1, 15, 9), utc(2024, 1, 17, 12), 1, None),
        (DAN, utc(2024, 1, 17, 12), utc(2024, 1, 22, 9), 2, None),
        (CAROL, utc(2024, 1, 22, 9), utc(2024, 1, 29, 9), 2, None),  # week 3: 3 % 4
        (ALICE, utc(2024, 1, 29, 9), utc(2024, 2, 5, 9), 2, None),  # week 4: 4 % 4
    ]


def test_participant_removed_mid_rotation_continues_rotation_arithmetic() -> None:
    # Bob leaves; week 2 is 2 % 2 -> Alice, week 3 -> Carol.
    plan = schedule(*change_participants((ALICE, CAROL), at=utc(2024, 1, 17, 12)))
    assert who_is_on_call(plan, utc(2024, 1, 17, 11, 59, 59)) == CAROL
    assert who_is_on_call(plan, utc(2024, 1, 17, 12)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 22, 9)) == CAROL


def test_rotation_restarted_at_next_handoff_begins_with_its_first_participant() -> None:
    change = utc(2024, 1, 22, 9)
    plan = schedule(
        playbook_layer(layer_id=1, ends_at=change),
        playbook_layer(layer_id=2, participants=(DAN, ALICE, BOB), rotation_start=change),
    )
    assert who_is_on_call(plan, utc(2024, 1, 22, 8, 59)) == CAROL
    assert who_is_on_call(plan, change) == DAN
    assert who_is_on_call(plan, utc(2024, 1, 29, 9)) == ALICE


def test_restriction_limits_on_call_to_its_window() -> None:
    plan = schedule(daily_from_monday(restrictions=business_hours()))
    assert who_is_on_call(plan, utc(2024, 1, 1, 8, 59, 59)) is None
    assert who_is_on_call(plan, utc(2024, 1, 1, 9)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 1, 16, 59, 59)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 1, 17)) is None
    assert who_is_on_call(plan, utc(2024, 1, 2, 10)) == BOB


def test_restriction_cuts_layer_shifts_to_its_window() -> None:
    layer = daily_from_monday(restrictions=business_hours())
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 3))) == [
        (ALICE, utc(2024, 1, 1, 9), utc(2024, 1, 1, 17)),
        (BOB, utc(2024, 1, 2, 9), utc(2024, 1, 2, 17)),
    ]


def test_weekday_restriction_leaves_weekend_empty() -> None:
    plan = schedule(daily_from_monday(restrictions=business_hours(WEEKDAYS)))
    assert who_is_on_call(plan, utc(2024, 1, 5, 12)) == ALICE  # Friday
    assert who_is_on_call(plan, utc(2024, 1, 6, 12)) is None  # Saturday
    assert who_is_on_call(plan, utc(2024, 1, 7, 12)) is None  # Sunday
    assert who_is_on_call(plan, utc(2024, 1, 8, 12)) == BOB  # Monday, day 7


def test_overnight_restriction_opening_friday_covers_friday_night_into_saturday() -> None:
    friday_night = (Restriction(start=time(22), end=time(6), weekdays=FRIDAY),)
    plan = schedule(daily_from_monday(restrictions=friday_night))
    assert who_is_on_call(plan, utc(2024, 1, 5, 21, 59)) is None
    assert who_is_on_call(plan, utc(2024, 1, 5, 22)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 6, 5, 59)) == BOB  # Saturday's shift
    assert who_is_on_call(plan, utc(2024, 1, 6, 6)) is None


def test_overnight_restriction_does_not_open_on_other_days() -> None:
    friday_night = (Restriction(start=time(22), end=time(6), weekdays=FRIDAY),)
    plan = schedule(daily_from_monday(restrictions=friday_night))
    assert who_is_on_call(plan, utc(2024, 1, 4, 23)) is None  # Thursday night
    assert who_is_on_call(plan, utc(2024, 1, 6, 23)) is None  # Saturday night
    assert who_is_on_call(plan, utc(2024, 1, 5, 3)) is None  # Friday early morning


def test_overnight_window_is_split_at_the_handoff_inside_it() -> None:
    friday_night = (Restriction(start=time(22), end=time(6), weekdays=FRIDAY),)
    layer = daily_from_monday(restrictions=friday_night)
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 8))) == [
        (ALICE, utc(2024, 1, 5, 22), utc(2024, 1, 6)),
        (BOB, utc(2024, 1, 6), utc(2024, 1, 6, 6)),
    ]


def test_window_ending_at_its_start_time_lasts_a_full_day() -> None:
    monday_to_tuesday = (Restriction(start=time(9), end=time(9), weekdays=MONDAY),)
    layer = daily_from_monday(restrictions=monday_to_tuesday)
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 8))) == [
        (ALICE, utc(2024, 1, 1, 9), utc(2024, 1, 2)),
        (BOB, utc(2024, 1, 2), utc(2024, 1, 2, 9)),
    ]


def test_several_windows_leave_the_gap_between_them_empty() -> None:
    morning_and_afternoon = (
        Restriction(start=time(8), end=time(12)),
        Restriction(start=time(13), end=time(17)),
    )
    layer = daily_from_monday(restrictions=morning_and_afternoon)
    assert who_is_on_call(schedule(layer), utc(2024, 1, 1, 12, 30)) is None
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 2))) == [
        (ALICE, utc(2024, 1, 1, 8), utc(2024, 1, 1, 12)),
        (ALICE, utc(2024, 1, 1, 13), utc(2024, 1, 1, 17)),
    ]


def test_overlapping_windows_make_one_span() -> None:
    overlapping = (
        Restriction(start=time(8), end=time(12)),
        Restriction(start=time(11), end=time(15)),
    )
    layer = daily_from_monday(restrictions=overlapping)
    assert spans(layer_shifts(layer, utc(2024, 1, 1), utc(2024, 1, 2))) == [
        (ALICE, utc(2024, 1, 1, 8), utc(2024, 1, 1, 15)),
    ]


def test_lower_layer_shows_through_outside_restriction() -> None:
    everyone_else = make_layer(rotation_start=utc(2024, 1, 1), participants=(BOB,))
    daytime = make_layer(
        rotation_start=utc(2024, 1, 1),
        layer_id=2,
        level=1,
        participants=(ALICE,),
        restrictions=business_hours(),
    )
    plan = schedule(everyone_else, daytime)
    assert who_is_on_call(plan, utc(2024, 1, 1, 8)) == BOB
    assert who_is_on_call(plan, utc(2024, 1, 1, 10)) == ALICE
    assert sources(shifts(plan, utc(2024, 1, 1), utc(2024, 1, 2))) == [
        (BOB, utc(2024, 1, 1), utc(2024, 1, 1, 9), 1, None),
        (ALICE, utc(2024, 1, 1, 9), utc(2024, 1, 1, 17), 2, None),
        (BOB, utc(2024, 1, 1, 17), utc(2024, 1, 2), 1, None),
    ]


def test_restriction_wall_times_follow_london_dst() -> None:
    layer = make_layer(
        rotation_start=datetime(2024, 3, 25, tzinfo=LONDON),
        participants=(ALICE,),
        time_zone="Europe/London",
        restrictions=business_hours(),
    )
    assert spans(layer_shifts(layer, utc(2024, 3, 30), utc(2024, 4, 1))) == [
        (ALICE, utc(2024, 3, 30, 9), utc(2024, 3, 30, 17)),  # 09:00-17:00 GMT
        (ALICE, utc(2024, 3, 31, 8), utc(2024, 3, 31, 16)),  # 09:00-17:00 BST
    ]


@pytest.mark.parametrize(
    ("monday", "since", "until", "shift"),
    [
        pytest.param(
            # Opens Saturday 2024-11-02 22:00 CDT, closes Sunday 06:00 CST.
            datetime(2024, 10, 28, tzinfo=CHICAGO),
            utc(2024, 10, 28, 5),
            utc(2024, 11, 4, 6),
            (ALICE, utc(2024, 11, 3, 3), utc(2024, 11, 3, 12)),
            id="fall back: nine hours",
        ),
        pytest.param(
            # Opens Saturday 2024-03-09 22:00 CST, closes Sunday 06:00 CDT.
            datetime(2024, 3, 4, tzinfo=CHICAGO),
            utc(2024, 3, 4, 6),
            utc(2024, 3, 11, 5),
            (ALICE, utc(2024, 3, 10, 4), utc(2024, 3, 10, 11)),
            id="spring forward: seven hours",
        ),
    ],
)
def test_overnight_window_across_a_chicago_clock_change_lasts_the_real_hours(
    monday: datetime, since: datetime, until: datetime, shift: tuple[int, datetime, datetime]
) -> None:
    layer = make_layer(
        rotation_start=monday,
        participants=(ALICE,),
        shift_length=ShiftLength.WEEKLY,
        time_zone="America/Chicago",
        restrictions=(Restriction(start=time(22), end=time(6), weekdays=SATURDAY),),
    )
    assert spans(layer_shifts(layer, since, until)) == [shift]


def test_window_entirely_inside_lord_howe_gap_is_empty_that_day() -> None:
    # 02:00-02:30 does not exist on 2024-10-06; the day before it is +10:30, the day after +11.
    layer = make_layer(
        rotation_start=datetime(2024, 9, 30, tzinfo=LORD_HOWE),
        participants=(ALICE,),
        shift_length=ShiftLength.WEEKLY,
        time_zone="Australia/Lord_Howe",
        restrictions=(Restriction(start=time(2), end=time(2, 30)),),
    )
    assert spans(layer_shifts(layer, utc(2024, 10, 4, 12), utc(2024, 10, 7))) == [
        (ALICE, utc(2024, 10, 4, 15, 30), utc(2024, 10, 4, 16)),  # 5th, 02:00-02:30 +10:30
        (ALICE, utc(2024, 10, 6, 15), utc(2024, 10, 6, 15, 30)),  # 7th, 02:00-02:30 +11:00
    ]


def test_window_opening_on_st_johns_midnight_fall_back_covers_the_repeated_hour() -> None:
    # Until 2011 St John's fell back at 00:01 to 23:01 the day before: on 2010-11-07 a window
    # opening Sunday 00:00 (-02:30) holds instants that read Saturday 23:xx (-03:30).
    layer = make_layer(
        rotation_start=utc(2010, 11, 1),
        participants=(ALICE,),
        shift_length=ShiftLength.WEEKLY,
        time_zone="America/St_Johns",
        restrictions=(Restriction(start=time(0), end=time(2), weekdays=frozenset({6})),),
    )
    assert spans(layer_shifts(layer, utc(2010, 11, 6), utc(2010, 11, 8))) == [
        (ALICE, utc(2010, 11, 7, 2, 30), utc(2010, 11, 7, 5, 30)),  # 00:00 -02:30, 02:00 -03:30
    ]
    assert who_is_on_call(schedule(layer), utc(2010, 11, 7, 2, 45)) == ALICE  # Sat 23:14 -03:30


def test_window_closing_on_a_skipped_calendar_day_closes_after_the_skip() -> None:
    # Samoa skipped 2011-12-30 (-10:00 -> +14:00). The window opening 29 Dec 22:00 closes at
    # "30 Dec 06:00", read with the -10:00 offset: 16:00 UTC, which reads 31 Dec 06:00 +14.
    layer = make_layer(
        rotation_start=utc(2011, 12, 1),
        participants=(ALICE,),
        shift_length=ShiftLength.WEEKLY,
        time_zone="Pacific/Apia",
        restrictions=(Restriction(start=time(22), end=time(6)),),
    )
    assert spans(layer_shifts(layer, utc(2011, 12, 30), utc(2011, 12, 31))) == [
        (ALICE, utc(2011, 12, 30, 8), utc(2011, 12, 30, 16)),
    ]
    assert who_is_on_call(schedule(layer), utc(2011, 12, 30, 15)) == ALICE  # 31 Dec 05:00 +14


def test_override_replaces_the_layer_while_it_lasts() -> None:
    cover = Override(id=1, user_id=DAN, start=utc(2024, 1, 3), end=utc(2024, 1, 4))
    plan = schedule(playbook_layer(), overrides=(cover,))
    assert who_is_on_call(plan, utc(2024, 1, 2, 23, 59)) == ALICE
    assert who_is_on_call(plan, utc(2024, 1, 3)) == DAN
    assert who_is_on_call(plan, utc(2024, 1, 4)) == ALICE


def test_override_crossing_a_handoff_is_one_piece() -> None:
    cover = Override(id=1, user_id=DAN, start=utc(2024, 1, 7, 21), end=utc(2024, 1, 8, 21))
    plan = schedule(playbook_layer(), overrides=(cover,))
    assert sources(shifts(plan, utc(2024, 1, 7), utc(2024, 1, 9))) == [
        (ALICE, utc(2024, 1, 7), utc(2024, 1, 7, 21), 1, None),
        (DAN, utc(2024, 1, 7, 21), utc(2024, 1, 8, 21), None, 1),
        (BOB, utc(2024, 1, 8, 21), utc(2024, 1, 9), 1, None),
    ]


def test_later_override_wins_where_overrides_overlap() -> None:
    first = Override(id=1, user_id=DAN, start=utc(2024, 1, 3, 10), end=utc(2024, 1, 3, 14))
    second = Override(id=2, user_id=ERIN, start=utc(2024, 1, 3, 12), end=utc(2024, 1, 3, 16))
    plan = schedule(playbook_layer(), overrides=(first, second))
    assert who_is_on_call(plan, utc(2024, 1, 3, 13)) == ERIN
    assert sources(shifts(plan, utc(2024, 1, 3, 8), utc(2024, 1, 3, 18))) == [
        (ALICE, utc(2024, 1, 3, 8), utc(2024, 1, 3, 10), 1, None),
        (DAN, utc(2024, 1, 3, 10), utc(2024, 1, 3, 12), None, 1),
        (ERIN, utc(2024, 1, 3, 12), utc(2024, 1, 3, 16), None, 2),
        (ALICE, utc(2024, 1, 3, 16), utc(2024, 1, 3, 18), 1, None),
    ]


def test_later_override_wins_whatever_order_overrides_are_listed_in() -> None:
    long = Override(id=1, user_id=DAN, start=utc(2024, 1, 3, 8), end=utc(2024, 1, 3, 16))
    short = Override(id=2, user_id=ERIN, start=utc(2024, 1, 3, 10), end=utc(2024, 1, 3, 14))
    plan = schedule(playbook_layer(), overrides=(short, long))
    assert who_is_on_call(plan, utc(2024, 1, 3, 9)) == DAN
    assert who_is_on_call(plan, utc(2024, 1, 3, 12)) == ERIN
    assert sources(shifts(plan, utc(2024, 1, 3, 8), utc(2024, 1, 3, 16))) == [
        (DAN, utc(2024, 1, 3, 8), utc(2024, 1, 3, 10), None, 1),
        (ERIN, utc(2024, 1, 3, 10), utc(2024, 1, 3, 14), None, 2),
        (DAN, utc(2024, 1, 3, 14), utc(2024, 1, 3, 16), None, 1),
    ]


def test_earlier_override_inside_a_later_one_is_hidden() -> None:
    inner = Override(id=1, user_id=DAN, start=utc(2024, 1, 3, 10), end=utc(2024, 1, 3, 12))
    outer = Override(id=2, user_id=ERIN, start=utc(2024, 1, 3, 8), end=utc(2024, 1, 3, 16))
    plan = schedule(playbook_layer(), overrides=(inner, outer))
    assert sources(shifts(plan, utc(2024, 1, 3, 8), utc(2024, 1, 3, 16))) == [
        (ERIN, utc(2024, 1, 3, 8), utc(2024, 1, 3, 16), None, 2),
    ]


def test_override_partly_outside_the_window_is_clipped_to_it() -> None:
    cover = Override(id=1, user_id=DAN, start=utc(2024, 1, 3, 6), end=utc(2024, 1, 3, 12))
    plan = schedule(playbook_layer(), overrides=(cover,))
    assert sources(shifts(plan, utc(2024, 1, 3, 10), utc(2024, 1, 3, 14))) == [
        (DAN, utc(2024, 1, 3, 10), utc(2024, 1, 3, 12), None, 1),
        (ALICE, utc(2024, 1, 3, 12), utc(2024, 1, 3, 14), 1, None),
    ]


def test_override_fills_hours_no_layer_covers() -> None:
    cover = Override(id=1, user_id=DAN, start=utc(2024, 1, 1, 20), end=utc(2024, 1, 1, 22))
    plan = schedule(daily_from_monday(restrictions=business_hours()), overrides=(cover,))
    assert who_is_on_call(plan, utc(2024, 1, 1, 21)) == DAN
    assert sources(shifts(plan, utc(2024, 1, 1, 12), utc(2024, 1, 2))) == [
        (ALICE, utc(2024, 1, 1, 12), utc(2024, 1, 1, 17), 1, None),
        (DAN, utc(2024, 1, 1, 20), utc(2024, 1, 1, 22), None, 1),
    ]


def test_override_outside_the_window_is_left_out() -> None:
    cover = Override(id=1, user_id=DAN, start=utc(2024, 1, 2), end=utc(2024, 1, 3))
    plan = schedule(playbook_layer(), overrides=(cover,))
    assert sources(shifts(plan, utc(2024, 1, 3), utc(2024, 1, 4))) == [
        (ALICE, utc(2024, 1, 3), utc(2024, 1, 4), 1, None),
    ]


def test_higher_level_layer_wins() -> None:
    base = make_layer(rotation_start=utc(2024, 1, 1), layer_id=1, level=0, participants=(BOB,))
    top = make_layer(rotation_start=utc(2024, 1, 1), layer_id=2, level=1, participants=(ALICE,))
    assert who_is_on_call(schedule(top, base), utc(2024, 1, 2)) == ALICE
    assert who_is_on_call(schedule(base, top), utc(2024, 1, 2)) == ALICE


def test_equal_levels_go_to_the_higher_layer_id() -> None:
    older = make_layer(rotation_start=utc(2024, 1, 1), layer_id=1, participants=(ALICE,))
    newer = make_layer(rotation_start=utc(2024, 1, 1), layer_id=2, participants=(BOB,))
    plan = schedule(newer, older)
    assert who_is_on_call(plan, utc(2024, 1, 2)) == BOB
    assert sources(shifts(plan, utc(2024, 1, 2), utc(2024, 1, 3))) == [
        (BOB, utc(2024, 1, 2), utc(2024, 1, 3), 2, None),
    ]


def test_shifts_merge_adjacent_pieces_of_same_user_and_source() -> None:
    layer = daily_from_monday(participants=(ALICE, ALICE, BOB))
    assert sources(shifts(schedule(layer), utc(2024, 1, 1), utc(2024, 1, 5))) == [
        (ALICE, utc(2024, 1, 1), utc(2024, 1, 3), 1, None),
        (BOB, utc(2024, 1, 3), utc(2024, 1, 4), 1, None),
        (ALICE, utc(2024, 1, 4), utc(2024, 1, 5), 1, None),
    ]


def test_shifts_keep_same_user_apart_when_the_source_differs() -> None:
    cover = Override(id=1, user_id=ALICE, start=utc(2024, 1, 2), end=utc(2024, 1, 3))
    plan = schedule(
        make_layer(rotation_start=utc(2024, 1, 1), participants=(ALICE,)), overrides=(cover,)
    )
    assert sources(shifts(plan, utc(2024, 1, 1), utc(2024, 1, 4))) == [
        (ALICE, utc(2024, 1, 1), utc(2024, 1, 2), 1, None),
        (ALICE, utc(2024, 1, 2), utc(2024, 1, 3), None, 1),
        (ALICE, utc(2024, 1, 3), utc(2024, 1, 4), 1, None),
    ]


def test_shifts_of_an_empty_window_are_empty() -> None:
    assert shifts(schedule(playbook_layer()), utc(2024, 1, 3), utc(2024, 1, 3)) == []
    assert shifts(schedule(playbook_layer()), utc(2024, 1, 4), utc(2024, 1, 3)) == []


def test_next_shift_is_the_next_handoff_to_someone_else() -> None:
    assert next_shift(schedule(playbook_layer()), utc(2024, 1, 3, 12)) == Shift(
        user_id=BOB, start=utc(2024, 1, 8, 9), end=utc(2024, 1, 15, 9), layer_id=1
    )


def test_next_shift_a_week_ahead_exactly_is_found() -> None:
    # At a handoff the next one is exactly a week off, where next_shift's first look ends.
    assert next_shift(schedule(playbook_layer()), utc(2024, 1, 1, 9)) == Shift(
        user_id=BOB, start=utc(2024, 1, 8, 9), end=utc(2024, 1, 15, 9), layer_id=1
    )


def test_next_shift_skips_further_turns_of_the_same_person() -> None:
    layer = daily_from_monday(participants=(ALICE, ALICE, BOB))
    assert next_shift(schedule(layer), utc(2024, 1, 1, 12)) == Shift(
        user_id=BOB, start=utc(2024, 1, 3), end=utc(2024, 1, 4), layer_id=1
    )


def test_next_shift_skips_a_gap_followed_by_the_same_person() -> None:
    layer = make_layer(
        rotation_start=utc(2024, 1, 1), participants=(ALICE,), restrictions=business_hours()
    )
    nights = Override(id=7, user_id=BOB, start=utc(2024, 1, 3, 20), end=utc(2024, 1, 3, 23))
    assert next_shift(schedule(layer, overrides=(nights,)), utc(2024, 1, 1, 10)) == Shift(
        user_id=BOB,
        start=utc(2024, 1, 3, 20),
        end=utc(2024, 1, 3, 23),
        layer_id=None,
        override_id=7,
    )


def test_next_shift_when_nobody_is_on_call_is_the_next_piece() -> None:
    plan = schedule(daily_from_monday(restrictions=business_hours()))
    assert next_shift(plan, utc(2024, 1, 1, 20)) == Shift(
        user_id=BOB, start=utc(2024, 1, 2, 9), end=utc(2024, 1, 2, 17), layer_id=1
    )


def test_next_shift_is_none_when_nobody_else_comes_within_the_horizon() -> None:
    plan = schedule(make_layer(rotation_start=utc(2024, 1, 1), participants=(ALICE,)))
    assert next_shift(plan, utc(2024, 1, 3)) is None


def test_next_shift_looks_no_further_than_its_horizon() -> None:
    plan = schedule(playbook_layer(rotation_start=utc(2024, 5, 6, 9)))  # 126 days ahead
    assert next_shift(plan, utc(2024, 1, 1)) is None
    assert next_shift(plan, utc(2024, 1, 1), horizon=timedelta(days=130)) == Shift(
        user_id=ALICE, start=utc(2024, 5, 6, 9), end=utc(2024, 5, 13, 9), layer_id=1
    )


def test_next_shift_found_near_the_horizon_keeps_its_real_end() -> None:
    plan = schedule(playbook_layer())
    # Found in [Jan 3 12:00, Jan 13 12:00), its end is looked for up to Jan 18 09:00.
    assert next_shift(plan, utc(2024, 1, 3, 12), horizon=timedelta(days=10)) == Shift(
        user_id=BOB, start=utc(2024, 1, 8, 9), end=utc(2024, 1, 15, 9), layer_id=1
    )


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        who_is_on_call(schedule(playbook_layer()), datetime(2024, 1, 3))  # noqa: DTZ001


def test_naive_rotation_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        make_layer(rotation_start=datetime(2024, 1, 1))  # noqa: DTZ001


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(KeyError):
        make_layer(rotation_start=utc(2024, 1, 1), time_zone="Mars/Olympus_Mons")


def test_hours_rotation_needs_positive_shift_hours() -> None:
    with pytest.raises(ValueError, match="shift_hours"):
        make_layer(rotation_start=utc(2024, 1, 1), shift_length=ShiftLength.HOURS, shift_hours=0)


def test_override_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="override 3"):
        Override(id=3, user_id=DAN, start=utc(2024, 1, 2), end=utc(2024, 1, 2))


def test_restriction_weekdays_are_0_to_6() -> None:
    with pytest.raises(ValueError, match="weekdays"):
        Restriction(start=time(9), end=time(17), weekdays=frozenset({7}))


def test_who_is_on_call_takes_well_under_5_ms_for_3_layers_and_100_overrides() -> None:
    # It runs on the paging path.
    decade_ago = utc(2016, 1, 4, 9)
    layers = (
        make_layer(
            rotation_start=decade_ago,
            shift_length=ShiftLength.WEEKLY,
            time_zone="America/Chicago",
        ),
        make_layer(
            rotation_start=decade_ago,
            layer_id=2,
            level=1,
            time_zone="Europe/London",
            restrictions=(
                Restriction(start=time(22), end=time(6)),
                Restriction(start=time(9), end=time(17), weekdays=WEEKDAYS),
            ),
        ),
        make_layer(
            rotation_start=decade_ago,
            layer_id=3,
            level=2,
            shift_length=ShiftLength.HOURS,
            shift_hours=12,
            time_zone="Australia/Lord_Howe",
            restrictions=(Restriction(start=time(18), end=time(20), weekdays=FRIDAY),),
        ),
    )
    overrides = tuple(
        Override(
            id=n,
            user_id=DAN,
            start=utc(2026, 1, 1) + timedelta(days=n),
            end=utc(2026, 1, 1) + timedelta(days=n, hours=2),
        )
        for n in range(100)
    )
    plan = schedule(*layers, overrides=overrides)
    at = utc(2026, 3, 4, 13)  # between overrides 62 and 63: the layers decide
    assert who_is_on_call(plan, at) is not None
    calls = 200
    began = clock.perf_counter()
    for _ in range(calls):
        who_is_on_call(plan, at)
    assert (clock.perf_counter() - began) / calls < 0.005
