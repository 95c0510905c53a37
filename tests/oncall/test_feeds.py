"""The iCal feeds, fetched without signing in and read back with icalendar as a calendar app."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from incidents.models import Team
from oncall.models import CalendarFeed, ScheduleOverride
from oncall.services import calendar_feeds
from tests.factories import TeamFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, weekly_schedule

NOW = datetime(2025, 3, 5, 12, tzinfo=UTC)  # a Wednesday
ROTATION = MONDAYS_NINE_UTC


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def schedule_feed(client, schedule):
    return client.get(f"/oncall/schedules/{schedule.feed_token}.ics")


def user_feed(client, user):
    token = calendar_feeds.calendar_feed_get_or_create(user=user).token
    return client.get(f"/oncall/users/{token}.ics")


def events(response) -> list[tuple[str, datetime, datetime]]:
    calendar = Calendar.from_ical(response.content)
    return [
        (str(event["SUMMARY"]), event.decoded("DTSTART"), event.decoded("DTEND"))
        for event in calendar.events
    ]


def test_schedule_feed_is_a_calendar_anyone_with_the_address_can_read(client, weekly):
    response = schedule_feed(client, weekly)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["X-WR-CALNAME"]) == "Primary (Payments) on call"


def test_schedule_feed_has_an_event_per_shift_with_the_persons_name(client, weekly):
    found = events(schedule_feed(client, weekly))

    # Weeks count from 6 January: week 7 (from 24 February) is Bob's, week 8 Alice's.
    assert found[0] == (
        "Bob Brown on call: Primary",
        datetime(2025, 2, 24, 9, tzinfo=UTC),
        datetime(2025, 3, 3, 9, tzinfo=UTC),
    )
    assert found[1] == (
        "Alice Adams on call: Primary",
        datetime(2025, 3, 3, 9, tzinfo=UTC),
        datetime(2025, 3, 10, 9, tzinfo=UTC),
    )


def test_schedule_feed_covers_a_week_back_and_180_days_ahead(client, weekly):
    found = events(schedule_feed(client, weekly))

    assert found[0][2] > NOW - timedelta(days=7)
    assert found[0][1] <= NOW - timedelta(days=7)
    assert found[-1][2] == NOW + timedelta(days=180)
    # 27 whole weeks from 24 February, then 1 September from 09:00 to the feed's end.
    assert len(found) == 28


def test_schedule_feed_times_are_utc(client, weekly):
    calendar = Calendar.from_ical(schedule_feed(client, weekly).content)

    assert all(event.decoded("DTSTART").utcoffset() == timedelta(0) for event in calendar.events)
    assert b"DTSTART:20250303T090000Z" in schedule_feed(client, weekly).content


def test_schedule_feed_uids_stay_the_same_from_one_fetch_to_the_next(client, weekly, monkeypatch):
    first = Calendar.from_ical(schedule_feed(client, weekly).content)
    monkeypatch.setattr(timezone, "now", lambda: NOW + timedelta(days=1))
    second = Calendar.from_ical(schedule_feed(client, weekly).content)

    first_uids = [str(event["UID"]) for event in first.events]
    second_uids = [str(event["UID"]) for event in second.events]
    assert first_uids == second_uids
    assert len(set(first_uids)) == len(first_uids)


def test_schedule_feed_shows_overrides(client, weekly, responder):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=datetime(2025, 3, 6, tzinfo=UTC),
        end=datetime(2025, 3, 7, tzinfo=UTC),
    )

    found = events(schedule_feed(client, weekly))

    assert (
        "Rosa Responder on call: Primary",
        datetime(2025, 3, 6, tzinfo=UTC),
        datetime(2025, 3, 7, tzinfo=UTC),
    ) in found


def test_unknown_schedule_feed_is_404(client, db):
    assert client.get("/oncall/schedules/not-a-token.ics").status_code == 404


def test_schedule_feed_stops_at_its_old_address_once_rotated(client, weekly, manager):
    old = weekly.feed_token
    calendar_feeds.schedule_rotate_feed_token(actor=manager, schedule=weekly)

    assert client.get(f"/oncall/schedules/{old}.ics").status_code == 404
    assert schedule_feed(client, weekly).status_code == 200


def test_user_feed_has_only_that_persons_shifts(client, weekly, alice):
    found = events(user_feed(client, alice))

    assert {summary for summary, _, _ in found} == {"On call: Primary (Payments)"}
    spans = [(start, end) for _, start, end in found]
    assert (datetime(2025, 3, 3, 9, tzinfo=UTC), datetime(2025, 3, 10, 9, tzinfo=UTC)) in spans
    assert (datetime(2025, 3, 10, 9, tzinfo=UTC), datetime(2025, 3, 17, 9, tzinfo=UTC)) not in spans


def test_user_feed_gathers_shifts_from_every_schedule(client, weekly, alice, bob):
    other = Team.objects.create(name="Search", slug="search")
    weekly_schedule([alice, bob], start=ROTATION, team=other, name="Search primary")
    backup = weekly_schedule([bob], start=ROTATION, team=other, name="Backup")
    ScheduleOverride.objects.create(
        schedule=backup,
        user=alice,
        start=datetime(2025, 3, 20, tzinfo=UTC),
        end=datetime(2025, 3, 21, tzinfo=UTC),
    )

    found = events(user_feed(client, alice))

    titles = {summary for summary, _, _ in found}
    assert titles == {
        "On call: Primary (Payments)",
        "On call: Search primary (Search)",
        "On call: Backup (Search)",
    }
    assert (
        "On call: Backup (Search)",
        datetime(2025, 3, 20, tzinfo=UTC),
        datetime(2025, 3, 21, tzinfo=UTC),
    ) in found


def test_user_feed_gives_same_time_shifts_in_two_schedules_their_own_uids(
    client, weekly, alice, bob
):
    weekly_schedule([alice, bob], start=ROTATION, team=TeamFactory(name="Search"), name="Two")

    calendar = Calendar.from_ical(user_feed(client, alice).content)

    uids = [str(event["UID"]) for event in calendar.events]
    assert len(uids) == len(set(uids))
    starts = [event.decoded("DTSTART") for event in calendar.events]
    assert starts.count(datetime(2025, 3, 3, 9, tzinfo=UTC)) == 2


def test_user_feed_is_named_for_its_person(client, alice):
    calendar = Calendar.from_ical(user_feed(client, alice).content)

    assert str(calendar["X-WR-CALNAME"]) == "Alice Adams on call"
    assert calendar.events == []


def test_unknown_user_feed_is_404(client, db):
    assert client.get("/oncall/users/not-a-token.ics").status_code == 404


def test_feed_of_a_deactivated_person_is_404(client, weekly, alice):
    token = calendar_feeds.calendar_feed_get_or_create(user=alice).token
    alice.is_active = False
    alice.save()

    assert client.get(f"/oncall/users/{token}.ics").status_code == 404


def test_user_feed_stops_at_its_old_address_once_rotated(client, alice):
    old = calendar_feeds.calendar_feed_get_or_create(user=alice).token
    calendar_feeds.calendar_feed_rotate(user=alice)

    assert client.get(f"/oncall/users/{old}.ics").status_code == 404
    assert CalendarFeed.objects.get(user=alice).token != old
