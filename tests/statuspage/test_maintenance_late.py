"""A beat that was down through a maintenance window fires its timers late, in order: the
state still moves, but subscribers are not told of what is no longer so ("starts in 60
minutes" once it has started, "started" once it is over)."""

from datetime import timedelta

import pytest

from statuspage import tasks
from statuspage.models import ComponentState, MaintenanceStatus, MaintenanceUpdate, TimerKind
from statuspage.models_subscribers import SubscriberNotification
from tests.statuspage.factories import (
    MAINTENANCE_END,
    MAINTENANCE_START,
    database_upgrade,
    spans,
    state,
)
from tests.statuspage.subscriptions_fixtures import email_subscriber

START, END = MAINTENANCE_START, MAINTENANCE_END
OPERATIONAL = ComponentState.OPERATIONAL
MAINTENANCE = ComponentState.UNDER_MAINTENANCE


@pytest.fixture
def window(clock, api, manager):
    email_subscriber("ada@example.com")
    return database_upgrade(manager, api)


def told(window) -> list[str]:
    return list(
        SubscriberNotification.objects.filter(maintenance=window)
        .order_by("id")
        .values_list("maintenance_event", flat=True)
    )


def test_on_time_subscribers_hear_every_step(window):
    for at in (START - timedelta(minutes=60), START, END):
        tasks.tick(now=at)
    assert told(window) == ["scheduled", "reminder_60", "started", "completed"]


def test_a_reminder_fired_after_the_start_is_not_sent(window, api):
    tasks.tick(now=START + timedelta(minutes=5))

    assert told(window) == ["scheduled", "started"]
    assert window.timers.get(kind=TimerKind.REMINDER_60).done_at is not None
    assert state(api) == MAINTENANCE


def test_a_window_over_before_the_beat_came_back_is_only_told_completed(window, api):
    tasks.tick(now=END + timedelta(minutes=5))

    assert told(window) == ["scheduled", "completed"]
    assert not window.timers.filter(done_at__isnull=True).exists()
    window.refresh_from_db()
    assert window.status == MaintenanceStatus.COMPLETED
    statuses = MaintenanceUpdate.objects.filter(maintenance=window).order_by("id")
    assert list(statuses.values_list("status", flat=True)) == [
        MaintenanceStatus.SCHEDULED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.COMPLETED,
    ]
    assert state(api) == OPERATIONAL
    assert spans(api)[-1] == (OPERATIONAL, True)
