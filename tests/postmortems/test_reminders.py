"""Action-item reminders, driven by an explicit clock: two days before the due date and every
day it is overdue, at 09:00 in the organisation's zone, exactly once a day under two beats."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from postmortems.models import ActionItem, ActionItemStatus, OutgoingEmail
from postmortems.services.action_items import action_item_update
from postmortems.services.reminders import reminders_send_due
from tests.factories import UserFactory, declare
from tests.postmortems.action_items_support import (
    at,
    item,
    reminder_days,
    reminder_emails,
    set_status,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    settings.BASE_URL = "https://tocsin.example.com"


@pytest.fixture
def owner(db):
    return UserFactory(username="olga", first_name="Olga", last_name="Owner")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def run_beats(
    start: datetime,
    end: datetime,
    *,
    step: timedelta,
    events: dict[datetime, Callable[[], object]] | None = None,
) -> None:
    """Tick from `start` to `end` every `step`, each instant from two beats; an event runs just
    before the first tick at or after its time."""
    pending = sorted((events or {}).items())
    now = start
    while now <= end:
        while pending and pending[0][0] <= now:
            pending.pop(0)[1]()
        reminders_send_due(now=now)
        reminders_send_due(now=now)
        now += step


def test_a_month_of_two_beats_reminds_each_item_once_per_reminder_day(commander, owner):
    """March 2026 in Berlin, clocks going forward on the 29th; a tick every 5 minutes from two
    beats. Each item's reminder days, worked out by hand."""
    incident = declare(commander)
    created = at(date(2026, 3, 1), 0, 1)

    def new(due: date, **kwargs: object) -> ActionItem:
        return item(incident, commander, now=created, due=due, owner=owner, **kwargs)

    early = new(date(2026, 3, 10), title="Overdue from the 11th")
    in_progress = new(date(2026, 3, 20), title="In progress, overdue from the 21st")
    set_status(in_progress, commander, ActionItemStatus.IN_PROGRESS, now=created)
    later = new(date(2026, 4, 5), title="Due after the month")
    done = new(date(2026, 3, 12), title="Done at once")
    set_status(done, commander, ActionItemStatus.DONE, now=created)
    declined = new(date(2026, 3, 12), title="Declined")
    set_status(declined, commander, ActionItemStatus.WONT_DO, now=created, reason="Moot.")
    unowned = item(incident, commander, now=created, due=date(2026, 3, 5), title="Nobody's")
    closed_later = new(date(2026, 3, 8), title="Done on the 15th at noon")
    moved = new(date(2026, 3, 14), title="Moved on the 13th to the 25th")

    run_beats(
        created,
        at(date(2026, 3, 31), 23, 59),
        step=timedelta(minutes=5),
        events={
            at(date(2026, 3, 15), 12): lambda: set_status(
                closed_later, commander, ActionItemStatus.DONE, now=at(date(2026, 3, 15), 12)
            ),
            at(date(2026, 3, 13), 12): lambda: action_item_update(
                item=moved,
                actor=commander,
                changes={"due_date": date(2026, 3, 25)},
                now=at(date(2026, 3, 13), 12),
            ),
        },
    )

    assert reminder_days(early) == [date(2026, 3, 8), *days(date(2026, 3, 11), date(2026, 3, 31))]
    assert reminder_days(in_progress) == [
        date(2026, 3, 18),
        *days(date(2026, 3, 21), date(2026, 3, 31)),
    ]
    assert reminder_days(later) == []  # two days before 5 April is 3 April
    assert reminder_days(done) == []
    assert reminder_days(declined) == []
    assert reminder_days(unowned) == []
    assert reminder_days(closed_later) == [
        date(2026, 3, 6),
        *days(date(2026, 3, 9), date(2026, 3, 15)),
    ]
    assert reminder_days(moved) == [
        date(2026, 3, 12),
        date(2026, 3, 23),
        *days(date(2026, 3, 26), date(2026, 3, 31)),
    ]
    # Every one went out at 09:00 on the organisation's clock (within a tick's step).
    for email in OutgoingEmail.objects.all():
        local = email.created_at.astimezone(at(date(2026, 3, 1)).tzinfo)
        assert (local.hour, local.minute < 5) == (9, True), email.key


def test_a_second_beat_at_the_same_instant_adds_nothing(commander, owner):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )
    now = at(date(2026, 3, 3))

    first = reminders_send_due(now=now)
    second = reminders_send_due(now=now)

    assert (first, second) == ([overdue.pk], [])
    assert len(reminder_emails(overdue)) == 1


def test_an_item_overdue_by_one_minute_is_reminded_at_nine_that_morning(commander, owner):
    # Added after its early reminder's time, so the next is the first overdue morning.
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 3)), due=date(2026, 3, 4), owner=owner
    )

    assert reminders_send_due(now=at(date(2026, 3, 4), 23, 59)) == []
    assert reminders_send_due(now=at(date(2026, 3, 5), 0, 1)) == []  # overdue by a minute
    assert reminders_send_due(now=at(date(2026, 3, 5), 8, 59)) == []
    assert reminders_send_due(now=at(date(2026, 3, 5), 9, 0)) == [overdue.pk]

    (email,) = reminder_emails(overdue)
    assert email.subject == "Action item overdue by 1 day: Add an alert on queue depth"


def test_the_early_reminder_says_how_many_days_are_left_and_links_the_item(commander, owner):
    incident = declare(commander, title="Checkout is failing")
    due_soon = item(
        incident,
        commander,
        now=at(date(2026, 3, 1)),
        due=date(2026, 3, 20),
        owner=owner,
        title="Alert on <queue> & depth",
    )

    reminders_send_due(now=at(date(2026, 3, 18), 9, 3))

    (email,) = reminder_emails(due_soon)
    url = f"https://tocsin.example.com/action-items/{due_soon.pk}/"
    assert email.to == owner.email
    assert email.subject == "Action item due in 2 days: Alert on <queue> & depth"
    assert "Alert on <queue> & depth" in email.text
    assert "is due in 2 days" in email.text
    assert "Due Fri 20 Mar 2026" in email.text
    assert url in email.text
    assert f'href="{url}"' in email.html
    assert "Alert on &lt;queue&gt; &amp; depth" in email.html
    assert email.key == f"reminder:{due_soon.pk}:2026-03-18:email"


def test_reminders_say_by_how_many_days_an_item_is_overdue(commander, owner):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )

    reminders_send_due(now=at(date(2026, 3, 9)))

    assert "overdue by 7 days" in reminder_emails(overdue)[0].subject


@pytest.mark.parametrize(
    ("days_utc", "hours_utc"),
    [
        # Spring forward in Berlin on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 after.
        ([date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)], [8, 7, 7]),
        # Fall back on Sunday 25 October 2026: 07:00 UTC before, 08:00 after.
        ([date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)], [7, 8, 8]),
    ],
)
def test_reminders_stay_at_nine_local_across_a_dst_change(commander, owner, days_utc, hours_utc):
    first = days_utc[0]
    overdue = item(
        declare(commander),
        commander,
        now=at(first - timedelta(days=3)),
        due=first - timedelta(days=1),
        owner=owner,
    )
    start = datetime.combine(first, datetime.min.time(), UTC)

    run_beats(start, start + timedelta(days=3) - timedelta(minutes=1), step=timedelta(minutes=5))

    sent = [email.created_at for email in reminder_emails(overdue)]
    assert [moment.date() for moment in sent] == days_utc
    assert [(moment.astimezone(UTC).hour, moment.minute) for moment in sent] == [
        (h, 0) for h in hours_utc
    ]


def test_a_late_tick_sends_one_reminder_not_the_missed_ones(commander, owner):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )

    # The beat was down from the 3rd to the 6th in the afternoon.
    reminders_send_due(now=at(date(2026, 3, 6), 15))
    reminders_send_due(now=at(date(2026, 3, 6), 16))
    reminders_send_due(now=at(date(2026, 3, 7), 9))

    assert reminder_days(overdue) == [date(2026, 3, 6), date(2026, 3, 7)]


def test_closing_between_ticks_stops_the_next_reminder(commander, owner):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )
    reminders_send_due(now=at(date(2026, 3, 3)))

    set_status(overdue, commander, ActionItemStatus.DONE, now=at(date(2026, 3, 3), 17))
    reminders_send_due(now=at(date(2026, 3, 4)))

    assert reminder_days(overdue) == [date(2026, 3, 3)]


@pytest.mark.parametrize("status", [ActionItemStatus.DONE, ActionItemStatus.WONT_DO])
def test_an_item_closed_around_the_service_is_never_reminded_and_its_timer_stops(
    commander, owner, status
):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )
    # A bulk update (or an old admin form) closes it without stopping its timer.
    ActionItem.objects.filter(pk=overdue.pk).update(status=status, wont_do_reason="Obsolete.")

    assert reminders_send_due(now=at(date(2026, 3, 3))) == []

    assert reminder_emails(overdue) == []
    overdue.refresh_from_db()
    assert overdue.next_reminder_at is None


def test_an_owner_who_no_longer_sees_the_incident_is_not_told_about_it(commander, owner):
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    assert reminders_send_due(now=at(date(2026, 3, 3))) == [overdue.pk]

    assert reminder_emails(overdue) == []
    overdue.refresh_from_db()
    assert overdue.next_reminder_at == at(date(2026, 3, 4))


def test_a_tick_takes_at_most_a_batch(commander, owner):
    incident = declare(commander)
    for n in range(3):
        item(
            incident,
            commander,
            now=at(date(2026, 3, 1)),
            due=date(2026, 3, 2),
            owner=owner,
            title=f"Item {n}",
        )

    assert len(reminders_send_due(now=at(date(2026, 3, 3)), limit=2)) == 2
    assert len(reminders_send_due(now=at(date(2026, 3, 3)), limit=2)) == 1
    assert OutgoingEmail.objects.count() == 3
