"""The engine's locking, made deterministic: threads with their own database connections."""

import threading
from datetime import timedelta

import pytest
from django.db import transaction

from incidents import services as incident_services
from oncall.models import Escalation, EscalationState, Notification
from oncall.services import escalations
from tests.factories import declare
from tests.harness import in_thread
from tests.oncall.factories import pageable, policy

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_tick_during_an_acknowledgement_waits_for_it_and_then_pages_nobody():
    alice, bob = pageable("alice"), pageable("bob")
    policy((5, [alice]), (10, [bob]))
    incident = declare(severity_name="SEV2")
    escalation = escalations.escalation_start(incident=incident, fire_now=False)
    assert escalations.escalation_advance(escalation_id=escalation.pk, now=escalation.next_at)
    level_two = escalation.next_at + timedelta(minutes=5)
    acknowledging, release = threading.Event(), threading.Event()

    def acknowledge():
        with transaction.atomic():
            incident_services.incident_acknowledge(incident=incident, actor=alice)
            acknowledging.set()
            release.wait(10)

    def tick():
        escalations.escalation_advance(escalation_id=escalation.pk, now=level_two)

    ack_thread = in_thread(acknowledge)
    assert acknowledging.wait(10)
    tick_thread = in_thread(tick)
    tick_thread.join(0.5)
    assert tick_thread.is_alive(), "the tick must wait for the acknowledgement's lock"
    release.set()
    ack_thread.join(10)
    tick_thread.join(10)

    assert not Notification.objects.filter(user=bob).exists()
    assert Escalation.objects.get().state == EscalationState.STOPPED


def test_two_ticks_at_once_fire_a_level_once():
    policy((5, [pageable("alice")]))
    incident = declare(severity_name="SEV2")
    escalation = escalations.escalation_start(incident=incident, fire_now=False)
    start = threading.Barrier(2)
    fired: list[bool] = []

    def tick():
        start.wait(5)
        fired.append(
            escalations.escalation_advance(escalation_id=escalation.pk, now=escalation.next_at)
        )

    threads = [in_thread(tick), in_thread(tick)]
    for thread in threads:
        thread.join(10)

    assert sorted(fired) == [False, True]
    assert Notification.objects.count() == 1
