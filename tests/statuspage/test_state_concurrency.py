"""Recomputes and ticks racing on their own database connections write each move once.

These commit for real (transaction=True); serialized_rollback restores the seeded severities
the flush afterwards removes.
"""

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from statuspage import tasks
from statuspage.models import (
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceTimer,
    MaintenanceUpdate,
    PublicIncident,
    PublicStatus,
    TimerKind,
)
from statuspage.services import states_recompute
from statuspage.services.maintenance import (
    maintenance_cancel,
    maintenance_schedule,
    timer_fire,
    timers_claim,
)
from tests.factories import ServiceFactory, UserFactory, declare
from tests.harness import in_thread
from tests.statuspage.factories import component, spans, state

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MAJOR = ComponentState.MAJOR_OUTAGE
OPERATIONAL = ComponentState.OPERATIONAL


def test_a_recompute_waits_for_the_one_in_progress_and_then_finds_nothing_to_do():
    api = ServiceFactory(name="API", public=True)
    commander = UserFactory(username="cole")
    incident = declare(commander, services=[api], severity_name="SEV1")
    now = timezone.now()
    public = PublicIncident.objects.create(
        incident=incident,
        name="API down",
        status=PublicStatus.INVESTIGATING,
        impact="critical",
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    public.components.set([component(api)])
    results: list[object] = []

    def other() -> None:
        try:
            results.append(states_recompute(now=now + timedelta(seconds=1)))
        except BaseException as error:
            results.append(error)

    with transaction.atomic():
        mine = states_recompute(now=now)
        thread = in_thread(other)
        thread.join(timeout=1)
        # It waits on the components' locks rather than deriving from what we have not
        # committed yet.
        assert thread.is_alive()
    thread.join(timeout=10)
    assert [(m.old, m.new) for m in mine] == [(OPERATIONAL, MAJOR)]
    assert results == [[]]
    assert spans(api) == [(OPERATIONAL, False), (MAJOR, True)]


def test_two_ticks_at_once_start_a_window_once():
    api = ServiceFactory(name="API", public=True)
    manager = UserFactory(username="mona", role="manager")
    start = timezone.now() + timedelta(hours=2)
    window = maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="m",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[component(api)],
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            barrier.wait(timeout=10)
            errors.extend(RuntimeError(name) for name in tasks.tick(now=start))
        except BaseException as error:
            errors.append(error)

    beats = [in_thread(beat), in_thread(beat)]
    for thread in beats:
        thread.join(timeout=30)
    assert errors == []
    started = MaintenanceUpdate.objects.filter(
        maintenance=window, status=MaintenanceStatus.IN_PROGRESS
    )
    assert started.count() == 1
    assert spans(api) == [(OPERATIONAL, False), (ComponentState.UNDER_MAINTENANCE, True)]


def test_the_end_firing_while_the_start_is_open_waits_for_a_cancel_rather_than_deadlocking():
    # The start's worker was lost, so at the end both timers are open. A cancel takes the
    # timers in pk order (the start first); the end's tick, once it holds its own timer,
    # would complete the window and so stop the start's timer, held by the cancel, which in
    # turn waits for the end's timer.
    api = ServiceFactory(name="API", public=True)
    manager = UserFactory(username="mona", role="manager")
    now = timezone.now()
    window = maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="m",
        scheduled_for=now + timedelta(minutes=30),
        scheduled_until=now + timedelta(minutes=40),
        components=[component(api)],
    )
    end_at = now + timedelta(minutes=41)
    claimed = {timer.kind: timer for timer in timers_claim(now=end_at)}
    results: list[object] = []

    def fire_end() -> None:
        try:
            results.append(timer_fire(timer=claimed[TimerKind.END], now=end_at))
        except BaseException as error:
            results.append(error)

    with transaction.atomic():
        # What maintenance_cancel does first: the timers in pk order, the start's first.
        MaintenanceTimer.objects.select_for_update().get(pk=claimed[TimerKind.START].pk)
        thread = in_thread(fire_end)
        thread.join(timeout=1)
        assert thread.is_alive()
        cancelled = maintenance_cancel(actor=manager, maintenance=window)
    thread.join(timeout=10)
    assert cancelled.status == MaintenanceStatus.CANCELLED
    # The cancel stopped the end's timer: the tick's claim no longer stands.
    assert results == [False]
    assert Maintenance.objects.get(pk=window.pk).status == MaintenanceStatus.CANCELLED


def test_a_recompute_racing_another_that_moved_the_state_derives_from_its_commit():
    # One transaction resolves incident A (api: major outage → operational) while another
    # publishes incident B, also a major outage of api. Unlocked, B's check would read A
    # still open and api still in major outage, find nothing to do and commit; A's commit
    # would then leave api operational under an open major outage.
    api = ServiceFactory(name="API", public=True)
    commander = UserFactory(username="cole")
    first, second = (declare(commander, services=[api], severity_name="SEV1") for _ in "ab")
    now = timezone.now()

    def publish(incident) -> PublicIncident:
        public = PublicIncident.objects.create(
            incident=incident,
            name="API down",
            status=PublicStatus.INVESTIGATING,
            impact="critical",
            started_at=now,
            created_at=now,
            updated_at=now,
        )
        public.components.set([component(api)])
        return public

    a = publish(first)
    states_recompute(now=now)
    assert state(api) == MAJOR
    results: list[object] = []

    def publish_b() -> None:
        try:
            with transaction.atomic():
                publish(second)
                results.append(states_recompute(now=now + timedelta(seconds=2)))
        except BaseException as error:
            results.append(error)

    with transaction.atomic():
        PublicIncident.objects.filter(pk=a.pk).update(
            status=PublicStatus.RESOLVED, resolved_at=now + timedelta(seconds=1)
        )
        resolved = states_recompute(now=now + timedelta(seconds=1))
        thread = in_thread(publish_b)
        thread.join(timeout=1)
        assert thread.is_alive()
    thread.join(timeout=10)
    assert [(m.old, m.new) for m in resolved] == [(MAJOR, OPERATIONAL)]
    assert [[(m.old, m.new) for m in moves] for moves in results] == [[(OPERATIONAL, MAJOR)]]
    assert state(api) == MAJOR


def test_cancelling_while_a_tick_holds_one_of_its_timers_waits_rather_than_deadlocking():
    api = ServiceFactory(name="API", public=True)
    manager = UserFactory(username="mona", role="manager")
    start = timezone.now() + timedelta(hours=2)
    window = maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="m",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[component(api)],
    )
    results: list[object] = []

    def cancel() -> None:
        try:
            results.append(maintenance_cancel(actor=manager, maintenance=window).status)
        except BaseException as error:
            results.append(error)

    # What timer_fire does: its timer first, then the maintenance.
    with transaction.atomic():
        MaintenanceTimer.objects.select_for_update().filter(maintenance=window).first()
        thread = in_thread(cancel)
        thread.join(timeout=1)
        assert thread.is_alive()
        Maintenance.objects.select_for_update().get(pk=window.pk)
    thread.join(timeout=10)
    assert results == [MaintenanceStatus.CANCELLED]
