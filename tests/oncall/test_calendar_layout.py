"""The two-week calendar's layout: pure arithmetic over a loaded schedule, no database."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.models import User
from oncall import schedules
from oncall.calendar_layout import CALENDAR_DAYS, build_calendar, calendar_start, midnight
from oncall.models import Schedule, ScheduleLayer
from oncall.selectors import LoadedSchedule

PARIS = ZoneInfo("Europe/Paris")
UTC_ZONE = ZoneInfo("UTC")  # a viewer in UTC
ALICE, BOB, CAROL = 1, 2, 3
# Monday 6 January 2025, 09:00 UTC: the rotation below hands off then and every Monday after.
HANDOFF = datetime(2025, 1, 6, 9, tzinfo=UTC)
NOW = datetime(2025, 1, 8, 12, tzinfo=UTC)  # a Wednesday


def weekly_layer(
    participants: tuple[int, ...] = (ALICE, BOB), *, pk: int = 10, **fields: object
) -> tuple[ScheduleLayer, schedules.Layer]:
    spec = schedules.Layer(
        id=pk,
        level=1,
        participants=participants,
        rotation_start=HANDOFF,
        shift_length=schedules.ShiftLength.WEEKLY,
        time_zone="UTC",
        **fields,  # type: ignore[arg-type]
    )
    row = ScheduleLayer(
        pk=pk,
        name="Primary",
        level=1,
        rotation_start=HANDOFF,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
    )
    return row, spec


def loaded(
    *layers: tuple[ScheduleLayer, schedules.Layer],
    overrides: tuple[schedules.Override, ...] = (),
) -> LoadedSchedule:
    users = {
        pk: User(pk=pk, username=name, first_name=name.title())
        for pk, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"))
    }
    return LoadedSchedule(
        schedule=Schedule(pk=1, name="Payments", time_zone="UTC"),
        layers=[row for row, _ in layers],
        overrides=[],
        spec=schedules.ScheduleSpec(
            id=1, time_zone="UTC", layers=tuple(spec for _, spec in layers), overrides=overrides
        ),
        users=users,
    )


def row_of(calendar, key: str, week: int = 0):
    return next(row for row in calendar.weeks[week].rows if row.key == key)


def who(cell) -> list[int | None]:
    return [segment.user.pk if segment.user else None for segment in cell.segments]


def test_start_is_this_weeks_monday_in_the_viewers_zone():
    # Sunday 23:30 UTC is already Monday in Paris.
    sunday_night = datetime(2025, 1, 12, 23, 30, tzinfo=UTC)

    assert calendar_start(None, zone=PARIS, now=sunday_night) == date(2025, 1, 13)
    assert calendar_start(None, zone=UTC_ZONE, now=sunday_night) == date(2025, 1, 6)


def test_start_takes_a_date_from_the_address():
    assert calendar_start("2025-03-12", zone=UTC_ZONE, now=NOW) == date(2025, 3, 12)


def test_start_ignores_what_is_not_a_date_or_is_out_of_range():
    for raw in ("", "yesterday", "2025-13-01", "1999-12-31", "2101-01-01"):
        assert calendar_start(raw, zone=UTC_ZONE, now=NOW) == date(2025, 1, 6)


def test_midnight_is_the_start_of_the_day_in_the_zone_in_utc():
    assert midnight(date(2025, 7, 1), PARIS) == datetime(2025, 6, 30, 22, tzinfo=UTC)


def test_two_weeks_of_seven_days_from_the_first_day():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )

    assert len(calendar.weeks) == CALENDAR_DAYS // 7 == 2
    days = [day.day for week in calendar.weeks for day in week.days]
    assert days == [date(2025, 1, 6) + timedelta(days=n) for n in range(14)]
    assert (calendar.end, calendar.previous, calendar.following) == (
        date(2025, 1, 19),
        date(2024, 12, 30),
        date(2025, 1, 13),
    )
    assert [day.day for day in calendar.weeks[0].days if day.is_today] == [date(2025, 1, 8)]


def test_rows_are_each_layer_then_overrides_then_the_final_schedule():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )

    assert [row.key for row in calendar.weeks[0].rows] == ["layer-10", "overrides", "final"]
    assert row_of(calendar, "layer-10").note == "level 1"


def test_each_day_is_filled_by_its_segments_in_half_hours():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )

    for row in calendar.weeks[0].rows:
        for cell in row.cells:
            assert sum(segment.weight for segment in cell.segments) == 48


def test_a_handoff_inside_a_day_splits_its_cell():
    # The rotation starts at 09:00 on Monday 6 January: nobody before, Alice from then.
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )
    monday = row_of(calendar, "final").cells[0]

    assert who(monday) == [None, ALICE]
    assert [segment.weight for segment in monday.segments] == [18, 30]
    assert monday.segments[1].shows_start
    assert not monday.segments[1].continues_before
    assert monday.segments[1].continues_after


def test_a_shift_across_days_continues_from_cell_to_cell():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )
    tuesday = row_of(calendar, "final").cells[1]

    (segment,) = tuesday.segments
    assert segment.user is not None and segment.user.pk == ALICE
    assert segment.continues_before and segment.continues_after
    assert not segment.shows_start


def test_the_rotation_moves_on_at_the_next_handoff():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )

    assert who(row_of(calendar, "final", week=1).cells[0]) == [ALICE, BOB]


def test_days_are_cut_in_the_viewers_zone():
    # In Paris the 09:00 UTC handoff is at 10:00, so the Monday's gap is 20 half hours.
    calendar = build_calendar(loaded(weekly_layer()), first=date(2025, 1, 6), zone=PARIS, now=NOW)

    assert [segment.weight for segment in row_of(calendar, "final").cells[0].segments] == [20, 28]


def test_a_spring_forward_day_is_23_hours():
    calendar = build_calendar(loaded(weekly_layer()), first=date(2025, 3, 24), zone=PARIS, now=NOW)
    sunday = row_of(calendar, "final").cells[6]

    assert sunday.day.day == date(2025, 3, 30)
    assert sum(segment.weight for segment in sunday.segments) == 46


def test_an_override_shows_in_its_row_and_wins_in_the_final_schedule():
    override = schedules.Override(
        id=5,
        user_id=CAROL,
        start=datetime(2025, 1, 8, 0, tzinfo=UTC),
        end=datetime(2025, 1, 9, 0, tzinfo=UTC),
    )
    calendar = build_calendar(
        loaded(weekly_layer(), overrides=(override,)),
        first=date(2025, 1, 6),
        zone=UTC_ZONE,
        now=NOW,
    )
    wednesday = 2

    assert who(row_of(calendar, "overrides").cells[wednesday]) == [CAROL]
    assert who(row_of(calendar, "overrides").cells[wednesday + 1]) == [None]
    assert who(row_of(calendar, "final").cells[wednesday]) == [CAROL]
    assert who(row_of(calendar, "layer-10").cells[wednesday]) == [ALICE]


def test_only_the_final_row_carries_the_take_this_shift_link():
    calendar = build_calendar(
        loaded(weekly_layer()),
        first=date(2025, 1, 6),
        zone=UTC_ZONE,
        now=NOW,
        take_link=lambda shift: f"/take/{shift.user_id}",
    )

    links = {
        row.key: {segment.link for cell in row.cells for segment in cell.segments}
        for row in calendar.weeks[0].rows
    }
    assert links == {"layer-10": {""}, "overrides": {""}, "final": {"", f"/take/{ALICE}"}}


def test_a_layer_that_ended_before_the_window_has_no_row():
    ended = weekly_layer(ends_at=datetime(2025, 1, 1, tzinfo=UTC))

    calendar = build_calendar(loaded(ended), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW)

    assert [row.key for row in calendar.weeks[0].rows] == ["overrides", "final"]


def test_a_layer_ending_inside_the_window_says_until_when():
    ending = weekly_layer(ends_at=datetime(2025, 1, 10, 9, tzinfo=UTC))

    calendar = build_calendar(loaded(ending), first=date(2025, 1, 6), zone=PARIS, now=NOW)

    assert row_of(calendar, "layer-10").note == "level 1 · until 10 Jan 10:00"


def test_segments_take_a_tone_from_their_person():
    calendar = build_calendar(
        loaded(weekly_layer()), first=date(2025, 1, 6), zone=UTC_ZONE, now=NOW
    )
    (gap, alice) = row_of(calendar, "final").cells[0].segments

    assert (gap.tone, alice.tone) == (0, ALICE)
