"""Two beats ticking at once, each on its own database connection: every due item is claimed
by exactly one of them, and its owner gets one reminder that day.

These commit for real (transaction=True); serialized_rollback restores the seeded severities
and postmortem policies the flush afterwards removes.
"""

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from django.db import transaction

from postmortems.models import ActionItem, OutgoingEmail
from postmortems.services.reminders import reminders_send_due
from tests.factories import UserFactory, declare
from tests.harness import in_thread
from tests.postmortems.action_items_support import at, item

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"


def overdue_items(count: int) -> list[ActionItem]:
    commander = UserFactory(username="cole")
    owner = UserFactory(username="olga")
    incident = declare(commander)
    return [
        item(
            incident,
            commander,
            now=at(date(2026, 3, 1)),
            due=date(2026, 3, 2),
            owner=owner,
            title=f"Item {n}",
        )
        for n in range(count)
    ]


def two_beats_at(moment: datetime) -> tuple[list[list[int]], list[BaseException]]:
    """Both beats tick at `moment`, released together; what each claimed, and any errors."""
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = []
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            barrier.wait(timeout=10)
            claimed.append(reminders_send_due(now=moment))
        except BaseException as error:
            errors.append(error)

    beats = [in_thread(beat), in_thread(beat)]
    for thread in beats:
        thread.join(timeout=30)
    return claimed, errors


def test_two_beats_on_two_connections_claim_each_item_once_a_day():
    items = overdue_items(30)
    days = [date(2026, 3, 3) + timedelta(days=n) for n in range(5)]

    for day in days:
        claimed, errors = two_beats_at(at(day))

        assert errors == []
        first, second = claimed
        assert set(first).isdisjoint(second), day
        assert sorted(first + second) == sorted(i.pk for i in items)

    for action_item in items:
        keys = OutgoingEmail.objects.filter(key__startswith=f"reminder:{action_item.pk}:")
        assert sorted(keys.values_list("key", flat=True)) == [
            f"reminder:{action_item.pk}:{day.isoformat()}:email" for day in days
        ]


def test_an_item_another_beat_holds_is_skipped_not_waited_for():
    held, other = overdue_items(2)
    now = at(date(2026, 3, 3))
    locked, release = threading.Event(), threading.Event()

    def other_beat() -> None:
        # Another beat in the middle of its claim: it holds the row until told to let go.
        with transaction.atomic():
            ActionItem.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(timeout=10)

    holder = in_thread(other_beat)
    assert locked.wait(timeout=10)
    started = time.monotonic()
    try:
        claimed = reminders_send_due(now=now)
        took = time.monotonic() - started
    finally:
        release.set()
        holder.join(timeout=10)

    assert claimed == [other.pk]
    assert took < 5
    # The other beat let go without moving the timer (it rolled back): the next tick takes it.
    assert reminders_send_due(now=now) == [held.pk]
    assert OutgoingEmail.objects.filter(key__startswith=f"reminder:{held.pk}:").count() == 1
