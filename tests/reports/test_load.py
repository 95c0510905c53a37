"""Responder load (reports.load): pages, interruptions, off-hours, commander time.

Times are chosen so every figure is counted by hand: November 2026 starts on a Sunday; the 2nd
is a Monday. Tokyo is UTC+9; Los Angeles UTC-8 from 1 November (UTC-7 before); New York UTC-5
from 1 November at 02:00 local (UTC-4 before).
"""

import itertools
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from incidents import services
from incidents.models import Incident, RoleKind
from oncall.models import Notification, NotificationKind, NotificationState
from reports.builder import monthly_report
from reports.load import load_definitions, responder_load, sqlite_local_time, working_time
from reports.months import Month
from reports.report import ResponderLoad
from reports.sql import Dialect
from tests.factories import UserFactory, declare
from tests.oncall.factories import contact

pytestmark = pytest.mark.django_db

NOVEMBER = Month(2026, 11)
_keys = itertools.count()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Monday 2 November 2026, 12:00 UTC: working hours in UTC.
MONDAY_NOON = utc(2026, 11, 2, 12)


@pytest.fixture(autouse=True)
def organisation_in_utc(settings):
    settings.ORGANISATION_TIME_ZONE = "UTC"
    settings.REPORTS_WORKING_HOURS = "09:00-18:00"
    settings.REPORTS_WORKING_DAYS = [1, 2, 3, 4, 5]


def person(username: str, *, zone: str = "", first: str = "", last: str = "") -> User:
    return UserFactory(
        username=username, first_name=first or username.capitalize(), last_name=last, timezone=zone
    )


def page(
    user: User,
    at: datetime,
    *,
    incident: Incident | None = None,
    state: str = NotificationState.SENT,
    kind: str = NotificationKind.PAGE,
) -> Notification:
    """A page as the delivery leaves it: created when its step fired, sent at `at`."""
    method = user.contact_methods.first() or contact(user)
    return Notification.objects.create(
        key=f"test:{next(_keys)}",
        kind=kind,
        incident=incident,
        user=user,
        contact_method=method,
        state=state,
        created_at=at - timedelta(minutes=5),
        due_at=at,
        sent_at=at if state == NotificationState.SENT else None,
    )


def load_of(user: User, month: Month = NOVEMBER, **kwargs) -> ResponderLoad:
    [found] = [load for load in responder_load(month, **kwargs) if load.user_id == user.pk]
    return found


def test_an_empty_month_has_no_load(db):
    assert responder_load(NOVEMBER) == []


def test_three_pages_within_50_seconds_are_one_interruption(db):
    rosa = person("rosa")
    for seconds in (0, 20, 50):
        page(rosa, MONDAY_NOON + timedelta(seconds=seconds))

    load = load_of(rosa)

    assert (load.pages, load.interruptions) == (3, 1)


def test_pages_61_seconds_apart_are_two_interruptions(db):
    rosa = person("rosa")
    page(rosa, MONDAY_NOON)
    page(rosa, MONDAY_NOON + timedelta(seconds=61))

    assert load_of(rosa).interruptions == 2


def test_a_page_exactly_60_seconds_after_the_previous_is_the_same_interruption(db):
    rosa = person("rosa")
    page(rosa, MONDAY_NOON)
    page(rosa, MONDAY_NOON + timedelta(seconds=60))

    assert load_of(rosa).interruptions == 1


def test_the_gap_is_measured_from_the_previous_page_not_the_first(db):
    rosa = person("rosa")
    # 0, 50, 100, 150 s: each within 60 s of the one before, 150 s after the first.
    for seconds in (0, 50, 100, 150):
        page(rosa, MONDAY_NOON + timedelta(seconds=seconds))
    # 211 s: 61 s after the previous, a new interruption.
    page(rosa, MONDAY_NOON + timedelta(seconds=211))

    load = load_of(rosa)

    assert (load.pages, load.interruptions) == (5, 2)


def test_each_contact_method_is_a_page_and_a_call_sent_minutes_later_interrupts_again(db):
    rosa = person("rosa")
    sms = contact(rosa, kind="sms")
    voice = contact(rosa, kind="voice")
    email = contact(rosa)
    # The same step by SMS and email at once; the rule's call 5 minutes later.
    for method, minutes in ((sms, 0), (email, 0), (voice, 5)):
        Notification.objects.create(
            key=f"test:{next(_keys)}",
            user=rosa,
            contact_method=method,
            state=NotificationState.SENT,
            created_at=MONDAY_NOON,
            due_at=MONDAY_NOON + timedelta(minutes=minutes),
            sent_at=MONDAY_NOON + timedelta(minutes=minutes, seconds=2),
        )

    load = load_of(rosa)

    assert (load.pages, load.interruptions) == (3, 2)


def test_pages_to_different_people_are_each_their_own_interruption(db):
    rosa, cole = person("rosa"), person("cole")
    page(rosa, MONDAY_NOON)
    page(cole, MONDAY_NOON + timedelta(seconds=10))

    assert load_of(rosa).interruptions == 1
    assert load_of(cole).interruptions == 1


@pytest.mark.parametrize(
    "state", [NotificationState.CANCELLED, NotificationState.FAILED, NotificationState.PENDING]
)
def test_a_page_that_was_not_sent_interrupted_nobody(db, state):
    rosa = person("rosa")
    page(rosa, MONDAY_NOON, state=state)

    assert responder_load(NOVEMBER) == []


def test_test_pages_and_verification_codes_are_not_pages(db):
    rosa = person("rosa")
    page(rosa, MONDAY_NOON, kind=NotificationKind.TEST)
    page(rosa, MONDAY_NOON + timedelta(hours=1), kind=NotificationKind.VERIFICATION)

    assert responder_load(NOVEMBER) == []


def test_pages_of_a_drill_are_left_out(db, clock):
    rosa = person("rosa")
    clock.now = MONDAY_NOON
    drill = declare(rosa, drill=True)
    real = declare(rosa)
    page(rosa, MONDAY_NOON, incident=drill)
    page(rosa, MONDAY_NOON + timedelta(hours=1), incident=drill)
    page(rosa, MONDAY_NOON + timedelta(hours=2), incident=real)

    load = load_of(rosa)

    assert (load.pages, load.interruptions) == (1, 1)


def test_off_hours_are_counted_in_the_persons_own_zone(db):
    tokyo = person("kenji", zone="Asia/Tokyo")
    los_angeles = person("lena", zone="America/Los_Angeles")
    # Monday 2 November, 02:00 UTC: 11:00 Monday in Tokyo; 18:00 Sunday in Los Angeles.
    page(tokyo, utc(2026, 11, 2, 2))
    page(los_angeles, utc(2026, 11, 2, 2))

    assert load_of(tokyo).off_hours_interruptions == 0
    assert load_of(los_angeles).off_hours_interruptions == 1


def test_working_hours_end_at_the_end_time_in_the_persons_zone(db):
    lena = person("lena", zone="America/Los_Angeles")
    # Tuesday 3 November UTC: Monday in Los Angeles, 17:59 (at work) then 18:00 (not).
    page(lena, utc(2026, 11, 3, 1, 59))
    page(lena, utc(2026, 11, 3, 2, 0, 30))
    # 08:59 and 09:00 on Tuesday in Los Angeles.
    page(lena, utc(2026, 11, 3, 16, 59))
    page(lena, utc(2026, 11, 3, 17, 0, 30))

    load = load_of(lena)

    assert (load.interruptions, load.off_hours_interruptions) == (4, 2)


def test_a_burst_is_off_hours_by_when_it_began(db):
    rosa = person("rosa")
    # Monday 17:59:30 UTC, then 18:00:10 and 18:01:00: one interruption, begun at work.
    for at in (utc(2026, 11, 2, 17, 59, 30), utc(2026, 11, 2, 18, 0, 10), utc(2026, 11, 2, 18, 1)):
        page(rosa, at)

    load = load_of(rosa)

    assert (load.pages, load.interruptions, load.off_hours_interruptions) == (3, 1, 0)
    # Its last two pages came after six: off-hours pages, each counted on its own.
    assert load.off_hours_pages == 2


def test_off_hours_pages_are_counted_page_by_page(db):
    rosa = person("rosa")
    # Three nights (02:00 UTC, Tuesday to Thursday) and one afternoon (Monday 14:00).
    for day in (3, 4, 5):
        page(rosa, utc(2026, 11, day, 2))
    page(rosa, utc(2026, 11, 2, 14))

    load = load_of(rosa)

    assert (load.pages, load.off_hours_pages) == (4, 3)
    assert (load.interruptions, load.off_hours_interruptions) == (4, 3)


def test_pages_30_seconds_apart_are_one_interruption_and_each_an_off_hours_page(db):
    rosa = person("rosa")
    # Tuesday 02:00 UTC, then 30 s and 60 s later: one interruption, three night pages.
    for seconds in (0, 30, 60):
        page(rosa, utc(2026, 11, 3, 2) + timedelta(seconds=seconds))

    load = load_of(rosa)

    assert (load.pages, load.off_hours_pages) == (3, 3)
    assert (load.interruptions, load.off_hours_interruptions) == (1, 1)


def test_a_page_every_50_seconds_for_an_hour_is_one_interruption(db):
    rosa = person("rosa")
    # Each page is 50 s after the one before: the gap chains from page to page.
    for n in range(73):
        page(rosa, MONDAY_NOON + timedelta(seconds=50 * n))

    load = load_of(rosa)

    assert (load.pages, load.interruptions) == (73, 1)


def test_weekend_pages_are_off_hours_even_in_the_daytime(db):
    rosa = person("rosa")
    page(rosa, utc(2026, 11, 7, 12))  # Saturday noon
    page(rosa, utc(2026, 11, 8, 12))  # Sunday noon

    assert load_of(rosa).off_hours_interruptions == 2


def test_working_days_are_a_setting(db, settings):
    settings.REPORTS_WORKING_DAYS = [6, 7]
    rosa = person("rosa")
    page(rosa, utc(2026, 11, 7, 12))  # Saturday noon: at work
    page(rosa, MONDAY_NOON)  # Monday noon: a day off

    assert load_of(rosa).off_hours_interruptions == 1


def test_working_hours_are_a_setting(db, settings):
    settings.REPORTS_WORKING_HOURS = "07:30-12:00"
    rosa = person("rosa")
    page(rosa, utc(2026, 11, 2, 7, 30))  # at work
    page(rosa, MONDAY_NOON)  # 12:00: done for the day

    assert load_of(rosa).off_hours_interruptions == 1


def test_someone_without_a_zone_is_counted_in_the_organisations(db, settings):
    settings.ORGANISATION_TIME_ZONE = "Asia/Tokyo"
    rosa = person("rosa")
    # Monday 2 November 02:00 UTC: 11:00 in Tokyo.
    page(rosa, utc(2026, 11, 2, 2))
    # 10:00 UTC: 19:00 in Tokyo.
    page(rosa, utc(2026, 11, 2, 10))

    assert load_of(rosa).off_hours_interruptions == 1


def test_a_zone_the_database_does_not_know_falls_back_to_the_organisations(db):
    # Written past the form's check (as an older tz database than Python's would see it).
    rosa = person("rosa", zone="Mars/Olympus_Mons")
    page(rosa, utc(2026, 11, 2, 20))  # Monday 20:00 UTC

    load = load_of(rosa)

    assert (load.pages, load.off_hours_interruptions) == (1, 1)


def test_the_month_is_the_organisations_month(db, settings):
    settings.ORGANISATION_TIME_ZONE = "America/New_York"
    rosa = person("rosa", zone="America/New_York")
    # 31 October, 23:30 in New York (UTC-4): October's.
    page(rosa, utc(2026, 11, 1, 3, 30))
    # 1 November, 00:30 in New York: November's.
    page(rosa, utc(2026, 11, 1, 4, 30))
    # 30 November, 23:30 in New York (UTC-5): November's.
    page(rosa, utc(2026, 12, 1, 4, 30))
    # 1 December, 00:30 in New York: December's.
    page(rosa, utc(2026, 12, 1, 5, 30))

    assert load_of(rosa, NOVEMBER).pages == 2
    assert load_of(rosa, Month(2026, 10)).pages == 1
    assert load_of(rosa, Month(2026, 12)).pages == 1


def test_a_burst_across_the_months_start_is_one_interruption_in_the_month_it_began(db):
    rosa = person("rosa")
    page(rosa, utc(2026, 10, 31, 23, 59, 40))
    page(rosa, utc(2026, 11, 1, 0, 0, 20))

    november = load_of(rosa, NOVEMBER)
    october = load_of(rosa, Month(2026, 10))

    assert (november.pages, november.interruptions) == (1, 0)
    assert (october.pages, october.interruptions) == (1, 1)


def test_the_most_interrupted_come_first_then_by_name(db):
    ann, bob, cat = person("ann", first="Ann"), person("bob", first="Bob"), person("cat")
    page(bob, MONDAY_NOON)
    page(ann, MONDAY_NOON)
    for hours in (0, 1):
        page(cat, MONDAY_NOON + timedelta(hours=hours))

    assert [(load.name, load.interruptions) for load in responder_load(NOVEMBER)] == [
        ("Cat", 2),
        ("Ann", 1),
        ("Bob", 1),
    ]


# Commander time: Rosa declares and commands; Cole takes over.


@pytest.fixture
def rosa(db) -> User:
    return person("rosa", first="Rosa", last="Responder")


@pytest.fixture
def cole(db) -> User:
    return person("cole", first="Cole", last="Commander")


def test_command_is_clipped_to_the_month(clock, rosa, cole):
    clock.now = utc(2026, 10, 31, 22)
    incident = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 1, 2)
    services.incident_assign_role(incident=incident, actor=rosa, role=RoleKind.COMMANDER, user=cole)
    clock.now = utc(2026, 11, 1, 5)
    services.incident_resolve(incident=incident, actor=cole)

    # October: Rosa from 22:00 to midnight. November: Rosa to 02:00, Cole to 05:00.
    [october] = responder_load(Month(2026, 10), now=clock.now)
    november = {load.name: load for load in responder_load(NOVEMBER, now=clock.now)}

    assert (october.name, october.commander_seconds) == ("Rosa Responder", 2 * 3600)
    assert october.incidents_commanded == 1
    assert november["Rosa Responder"].commander_seconds == 2 * 3600
    assert november["Cole Commander"].commander_seconds == 3 * 3600
    assert november["Cole Commander"].incidents_commanded == 1
    assert november["Cole Commander"].pages == 0


def test_an_open_incident_is_commanded_until_now(clock, rosa):
    clock.now = utc(2026, 11, 10, 8)
    declare(rosa, commander=rosa)

    [load] = responder_load(NOVEMBER, now=utc(2026, 11, 10, 9, 30))

    assert (load.incidents_commanded, load.commander_seconds) == (1, 5400)


def test_an_incident_still_open_after_the_month_is_commanded_to_its_end(clock, rosa):
    clock.now = utc(2026, 11, 30, 20)
    declare(rosa, commander=rosa)

    [load] = responder_load(NOVEMBER, now=utc(2026, 12, 5))

    assert load.commander_seconds == 4 * 3600


def test_a_reopened_incident_is_commanded_until_its_last_resolution(clock, rosa):
    clock.now = utc(2026, 11, 10, 8)
    incident = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 10, 9)
    services.incident_resolve(incident=incident, actor=rosa)
    clock.now = utc(2026, 11, 10, 10)
    services.incident_reopen(incident=incident, actor=rosa)
    clock.now = utc(2026, 11, 10, 11)
    services.incident_resolve(incident=incident, actor=rosa)

    [load] = responder_load(NOVEMBER, now=utc(2026, 12, 5))

    assert (load.incidents_commanded, load.commander_seconds) == (1, 3 * 3600)


def test_taking_command_twice_counts_the_incident_once(clock, rosa, cole):
    clock.now = utc(2026, 11, 10, 8)
    incident = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 10, 9)
    services.incident_assign_role(incident=incident, actor=rosa, role=RoleKind.COMMANDER, user=cole)
    clock.now = utc(2026, 11, 10, 10)
    services.incident_assign_role(incident=incident, actor=cole, role=RoleKind.COMMANDER, user=rosa)
    clock.now = utc(2026, 11, 10, 12)
    services.incident_resolve(incident=incident, actor=rosa)

    loads = {load.name: load for load in responder_load(NOVEMBER, now=clock.now)}

    assert loads["Rosa Responder"].incidents_commanded == 1
    assert loads["Rosa Responder"].commander_seconds == 3 * 3600
    assert loads["Cole Commander"].commander_seconds == 3600


def test_other_roles_are_not_command(clock, rosa, cole):
    clock.now = utc(2026, 11, 10, 8)
    incident = declare(rosa)
    services.incident_assign_role(incident=incident, actor=rosa, role=RoleKind.SCRIBE, user=cole)

    assert responder_load(NOVEMBER, now=utc(2026, 11, 10, 9)) == []


def test_assigning_another_role_does_not_end_command(clock, rosa, cole):
    clock.now = utc(2026, 11, 10, 8)
    incident = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 10, 9)
    services.incident_assign_role(incident=incident, actor=rosa, role=RoleKind.SCRIBE, user=cole)
    clock.now = utc(2026, 11, 10, 10)
    services.incident_resolve(incident=incident, actor=rosa)

    [load] = responder_load(NOVEMBER, now=clock.now)

    assert (load.name, load.commander_seconds) == ("Rosa Responder", 2 * 3600)


def test_commanding_a_drill_is_left_out(clock, rosa):
    clock.now = utc(2026, 11, 10, 8)
    declare(rosa, commander=rosa, drill=True)

    assert responder_load(NOVEMBER, now=utc(2026, 11, 10, 9)) == []


def test_an_incident_resolved_before_the_month_was_not_commanded_in_it(clock, rosa):
    clock.now = utc(2026, 10, 10, 8)
    incident = declare(rosa, commander=rosa)
    clock.now = utc(2026, 10, 10, 9)
    services.incident_resolve(incident=incident, actor=rosa)

    assert responder_load(NOVEMBER, now=utc(2026, 12, 1)) == []


def test_pages_and_command_are_one_persons_row(clock, rosa):
    clock.now = MONDAY_NOON
    incident = declare(rosa, commander=rosa)
    page(rosa, MONDAY_NOON, incident=incident)

    [load] = responder_load(NOVEMBER, now=MONDAY_NOON + timedelta(minutes=30))

    assert load == ResponderLoad(
        user_id=rosa.pk,
        name="Rosa Responder",
        pages=1,
        off_hours_pages=0,
        interruptions=1,
        off_hours_interruptions=0,
        incidents_commanded=1,
        commander_seconds=1800,
    )


def test_a_merged_duplicates_commander_does_not_replace_the_survivors(clock, rosa, cole):
    clock.now = utc(2026, 11, 10, 10)
    survivor = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 10, 10, 30)
    duplicate = declare(cole, title="Payments time out", commander=cole)
    clock.now = utc(2026, 11, 10, 10, 58)
    services.incident_merge(incident=duplicate, into=survivor, actor=rosa)
    clock.now = utc(2026, 11, 10, 12)
    services.incident_resolve(incident=survivor, actor=rosa)

    loads = {load.name: load for load in responder_load(NOVEMBER, now=clock.now)}

    # Rosa: the survivor from 10:00 to 12:00. Cole: the duplicate from 10:30 to the merge.
    assert loads["Rosa Responder"].commander_seconds == 7200
    assert loads["Cole Commander"].commander_seconds == 1680
    assert loads["Cole Commander"].incidents_commanded == 1


def test_commanding_a_duplicate_and_its_survivor_is_two_incidents(clock, rosa):
    clock.now = utc(2026, 11, 10, 10)
    survivor = declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 10, 10, 30)
    duplicate = declare(rosa, title="Payments time out", commander=rosa)
    clock.now = utc(2026, 11, 10, 10, 58)
    services.incident_merge(incident=duplicate, into=survivor, actor=rosa)
    clock.now = utc(2026, 11, 10, 12)
    services.incident_resolve(incident=survivor, actor=rosa)

    [load] = responder_load(NOVEMBER, now=clock.now)

    # 2 h of the survivor and 28 min of the duplicate.
    assert (load.incidents_commanded, load.commander_seconds) == (2, 7200 + 1680)


def test_the_report_counts_command_until_its_own_now(clock, rosa):
    clock.now = utc(2026, 11, 10, 8)
    declare(rosa, commander=rosa)
    clock.now = utc(2026, 11, 20)

    report = monthly_report(NOVEMBER, now=utc(2026, 11, 10, 9, 30))

    [load] = report.load
    assert (load.incidents_commanded, load.commander_seconds) == (1, 5400)


def fill(clock, people: int) -> None:
    for n in range(people):
        someone = person(f"someone{n}", zone="Asia/Tokyo" if n % 2 else "")
        clock.now = MONDAY_NOON + timedelta(hours=n)
        incident = declare(someone, commander=someone)
        for seconds in (0, 30, 200):
            page(someone, clock.now + timedelta(seconds=seconds), incident=incident)


@pytest.mark.parametrize("people", [1, 6])
def test_the_query_count_does_not_grow_with_pages_or_people(clock, people):
    fill(clock, people)
    # The first reads the database's zone names, once for the process.
    responder_load(NOVEMBER, now=utc(2026, 12, 1))

    with CaptureQueriesContext(connection) as queries:
        loads = responder_load(NOVEMBER, now=utc(2026, 12, 1))

    assert len(loads) == people
    assert len(queries) == 2


@pytest.mark.parametrize(
    ("days", "words"),
    [
        ([1, 2, 3, 4, 5], "09:00-18:00, Monday to Friday"),
        ([1, 3, 5], "09:00-18:00, Monday, Wednesday, Friday"),
        ([6, 7], "09:00-18:00, Saturday, Sunday"),
        ([], "09:00-18:00, no working day"),
    ],
)
def test_the_definitions_name_the_working_hours_and_days(settings, days, words):
    settings.REPORTS_WORKING_DAYS = days

    definitions = {definition.term: definition.text for definition in load_definitions()}

    assert f"outside working hours ({words}) in the person's own" in definitions["Off-hours pages"]


@pytest.mark.parametrize(
    ("hours", "problem"),
    [("9-18", "HH:MM-HH:MM"), ("18:00-09:00", "first before"), ("09:00-18:60", "first before")],
)
def test_working_hours_in_an_unknown_shape_are_a_configuration_error(settings, hours, problem):
    settings.REPORTS_WORKING_HOURS = hours

    with pytest.raises(ImproperlyConfigured, match=problem):
        working_time()


def test_working_days_outside_1_to_7_are_a_configuration_error(settings):
    settings.REPORTS_WORKING_DAYS = [0, 1]

    with pytest.raises(ImproperlyConfigured, match="ISO weekdays"):
        working_time()


# SQLite (`make run`), which has no zone database: the same local time, weekday and minute.


def on_sqlite(moment: str, zone: str) -> tuple[int, int]:
    """The ISO weekday and the minute of the day SQLite's spelling gives for a stored time."""
    sql = Dialect("sqlite")
    local = sql.local_time("?", "?")
    database = sqlite3.connect(":memory:")
    database.create_function("reports_local_time", 2, sqlite_local_time)
    # %% is how the query text carries a % past Django's parameter placeholders.
    query = f"SELECT {sql.iso_weekday(local)}, {sql.minute_of_day(local)}".replace("%%", "%")
    return database.execute(query, (moment, zone) * 3).fetchone()


@pytest.mark.parametrize(
    ("moment", "zone", "weekday_and_minute"),
    [
        ("2026-11-02 02:00:00", "Asia/Tokyo", (1, 11 * 60)),  # Monday 11:00
        ("2026-11-02 02:00:00", "America/Los_Angeles", (7, 18 * 60)),  # Sunday 18:00
        ("2026-10-31 23:30:00.250000", "America/New_York", (6, 19 * 60 + 30)),  # Saturday
        ("2026-11-02 02:00:00", "Mars/Olympus_Mons", (1, 2 * 60)),  # the organisation's: UTC
    ],
)
def test_on_sqlite_local_time_comes_from_pythons_zone_database(moment, zone, weekday_and_minute):
    assert on_sqlite(moment, zone) == weekday_and_minute
