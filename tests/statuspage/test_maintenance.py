"""Scheduled maintenance: it starts and completes by itself from the tick's timer rows, puts
its components under maintenance meanwhile, and survives a worker killed mid-tick."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from incidents.models import Status
from statuspage import tasks
from statuspage.models import (
    ComponentState,
    MaintenanceStatus,
    MaintenanceTimer,
    MaintenanceUpdate,
    TimerKind,
)
from statuspage.services.maintenance import (
    LEASE,
    maintenance_cancel,
    maintenance_complete_now,
    maintenance_schedule,
    timer_fire,
    timers_claim,
)
from tests.clock import T0
from tests.factories import declare
from tests.statuspage.factories import (
    MAINTENANCE_END,
    MAINTENANCE_START,
    component,
    database_upgrade,
    post_public,
    set_status,
    spans,
    state,
)

OPERATIONAL = ComponentState.OPERATIONAL
MAINTENANCE = ComponentState.UNDER_MAINTENANCE
MAJOR = ComponentState.MAJOR_OUTAGE

START, END = MAINTENANCE_START, MAINTENANCE_END


@pytest.fixture
def window(clock, api, web, manager):
    """A window on the API from 12:00 to 13:00, scheduled at 09:00."""
    return database_upgrade(manager, api)


def _updates(maintenance):
    return list(
        MaintenanceUpdate.objects.filter(maintenance=maintenance)
        .order_by("created_at", "id")
        .values_list("status", flat=True)
    )


def test_scheduling_writes_the_announcement_and_three_timers(window):
    assert window.status == MaintenanceStatus.SCHEDULED
    assert _updates(window) == [MaintenanceStatus.SCHEDULED]
    timers = dict(window.timers.values_list("kind", "due_at"))
    assert timers == {
        TimerKind.REMINDER_60: START - timedelta(minutes=60),
        TimerKind.START: START,
        TimerKind.END: END,
    }


def test_a_window_within_the_hour_has_no_separate_reminder(clock, api, manager):
    soon = maintenance_schedule(
        actor=manager,
        name="Quick fix",
        message="Brief blip.",
        scheduled_for=T0 + timedelta(minutes=30),
        scheduled_until=T0 + timedelta(minutes=40),
        components=[component(api)],
    )
    assert set(soon.timers.values_list("kind", flat=True)) == {TimerKind.START, TimerKind.END}


def test_it_starts_and_completes_by_itself(window, api, web, caplog):
    tasks.tick(now=START - timedelta(minutes=61))
    assert not window.timers.filter(done_at__isnull=False).exists()
    with caplog.at_level(logging.INFO, logger="statuspage.services.notices"):
        tasks.tick(now=START - timedelta(minutes=60))
    reminder = window.timers.get(kind=TimerKind.REMINDER_60)
    assert reminder.done_at is not None
    assert f"maintenance {window.code} reminder_60" in caplog.text
    window.refresh_from_db()
    assert window.status == MaintenanceStatus.SCHEDULED
    assert state(api) == OPERATIONAL

    tasks.tick(now=START)
    window.refresh_from_db()
    assert (window.status, window.started_at) == (MaintenanceStatus.IN_PROGRESS, START)
    assert (state(api), state(web)) == (MAINTENANCE, OPERATIONAL)
    assert component(api).state_since == START

    tasks.tick(now=END + timedelta(seconds=5))
    window.refresh_from_db()
    assert window.status == MaintenanceStatus.COMPLETED
    assert state(api) == OPERATIONAL
    assert spans(api) == [(OPERATIONAL, False), (MAINTENANCE, False), (OPERATIONAL, True)]
    assert _updates(window) == [
        MaintenanceStatus.SCHEDULED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.COMPLETED,
    ]
    # Ticking on changes nothing.
    tasks.tick(now=END + timedelta(minutes=5))
    assert len(_updates(window)) == 3


def test_an_outage_during_maintenance_outranks_it(window, api, commander, events_run, clock):
    tasks.tick(now=START)
    clock.now = START + timedelta(minutes=10)
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    assert state(api) == MAJOR
    with events_run():
        set_status(incident, commander, Status.RESOLVED)
    assert state(api) == MAINTENANCE
    tasks.tick(now=END)
    assert state(api) == OPERATIONAL


def test_a_cancelled_window_never_starts(window, api, manager):
    maintenance_cancel(actor=manager, maintenance=window)
    tasks.tick(now=END + timedelta(minutes=1))
    window.refresh_from_db()
    assert window.status == MaintenanceStatus.CANCELLED
    assert state(api) == OPERATIONAL
    assert _updates(window) == [MaintenanceStatus.SCHEDULED, MaintenanceStatus.CANCELLED]
    assert not window.timers.filter(done_at__isnull=True).exists()


def test_a_window_in_progress_is_completed_not_cancelled(window, api, manager):
    tasks.tick(now=START)
    with pytest.raises(ValidationError):
        maintenance_cancel(actor=manager, maintenance=window)
    maintenance_complete_now(actor=manager, maintenance=window, now=START + timedelta(minutes=5))
    assert state(api) == OPERATIONAL
    tasks.tick(now=END)
    assert _updates(window).count(MaintenanceStatus.COMPLETED) == 1


def test_only_managers_schedule(clock, api, responder):
    with pytest.raises(PermissionDenied):
        maintenance_schedule(
            actor=responder,
            name="x",
            message="y",
            scheduled_for=START,
            scheduled_until=END,
            components=[component(api)],
        )


def test_a_window_must_end_after_it_starts(clock, api, manager):
    with pytest.raises(ValidationError) as error:
        maintenance_schedule(
            actor=manager,
            name="x",
            message="y",
            scheduled_for=END,
            scheduled_until=START,
            components=[component(api)],
        )
    assert "scheduled_until" in error.value.message_dict


def test_a_message_past_10000_characters_is_refused(clock, api, manager):
    with pytest.raises(ValidationError) as error:
        maintenance_schedule(
            actor=manager,
            name="x",
            message="y" * 10_001,
            scheduled_for=START,
            scheduled_until=END,
            components=[component(api)],
        )
    assert error.value.message_dict == {"message": ["Keep it to 10,000 characters."]}


def test_an_abandoned_lease_is_taken_over_and_the_start_done_once(window, api):
    # A worker claims the due start and is killed before doing it.
    (claimed,) = [t for t in timers_claim(now=START) if t.kind == TimerKind.START]
    # Within the lease, another tick leaves it to that worker.
    tasks.tick(now=START + timedelta(minutes=1))
    window.refresh_from_db()
    assert window.status == MaintenanceStatus.SCHEDULED
    # Once the lease runs out, a tick takes it over and starts the window.
    later = START + LEASE + timedelta(seconds=1)
    tasks.tick(now=later)
    window.refresh_from_db()
    assert (window.status, window.started_at) == (MaintenanceStatus.IN_PROGRESS, later)
    assert state(api) == MAINTENANCE
    # The first worker, waking up, finds its claim gone and does nothing.
    assert timer_fire(timer=claimed, now=later + timedelta(seconds=1)) is False
    tasks.tick(now=later + LEASE * 2)
    assert _updates(window).count(MaintenanceStatus.IN_PROGRESS) == 1
    assert MaintenanceTimer.objects.get(pk=claimed.pk).done_at == later


def test_an_end_due_before_a_lost_start_is_retaken_completes_the_window(clock, api, manager):
    short = maintenance_schedule(
        actor=manager,
        name="Blip",
        message="A minute.",
        scheduled_for=START,
        scheduled_until=START + timedelta(seconds=30),
        components=[component(api)],
    )
    timers_claim(now=START)  # claims the start (and the reminder), then dies
    tasks.tick(now=START + timedelta(seconds=31))
    short.refresh_from_db()
    assert short.status == MaintenanceStatus.COMPLETED
    tasks.tick(now=START + LEASE * 2)
    short.refresh_from_db()
    assert short.status == MaintenanceStatus.COMPLETED
    assert MaintenanceStatus.IN_PROGRESS not in _updates(short)
    assert state(api) == OPERATIONAL


def test_beat_runs_the_tick(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["statuspage-tick"]
    assert entry["task"] == tasks.tick.name == "statuspage.tasks.tick"
    assert entry["schedule"] <= 30
