"""Deliveries and processors racing each other, each thread on its own database connection."""

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from accounts.actors import SYSTEM
from alerts import tasks
from alerts.models import Alert, Integration, IntegrationKind
from alerts.services import processing
from alerts.services.ingest import alert_events_ingest
from alerts.services.integrations import integration_create
from alerts.services.processing import alerts_process_pending
from incidents import services as incident_services
from incidents.models import EventKind, Incident, Severity, TimelineEvent
from tests.alerts.factories import firing, make_integration
from tests.alerts.hooks import AlertmanagerHook, fixture
from tests.factories import TeamFactory
from tests.harness import in_thread

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

URL = AlertmanagerHook.URL
TIMEOUT = 30


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests run the processor themselves; nothing should reach a queue nobody drains.
    monkeypatch.setattr(tasks.process_alerts, "delay", lambda integration_id: None)


@pytest.fixture
def hook() -> tuple[int, str]:
    integration, token = integration_create(
        actor=SYSTEM,
        name="Prometheus",
        kind=IntegrationKind.ALERTMANAGER,
        team=TeamFactory(name="Payments"),
    )
    return integration.pk, token


def at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in threads released together; re-raise the first failure."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(TIMEOUT)
            results[index] = work(index)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    if failures:
        raise failures[0]
    return results


def post(token: str, payload: Any) -> int:
    response = Client().post(
        URL, payload, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_the_same_firing_payload_posted_ten_times_at_once_makes_one_alert_and_one_incident(hook):
    integration_id, token = hook
    payload = fixture("alertmanager", "firing")

    statuses = at_once(10, lambda _: post(token, payload))
    at_once(4, lambda _: alerts_process_pending(integration_id=integration_id))

    assert statuses == [200] * 10
    alert = Alert.objects.get()
    assert alert.times_seen == 10
    assert Incident.objects.count() == 1
    assert TimelineEvent.objects.filter(kind=EventKind.ALERT).count() == 1


def test_alerts_of_one_group_posted_and_processed_at_once_make_one_incident(hook):
    integration_id, token = hook

    def post_one(index: int) -> int:
        payload = fixture("alertmanager", "firing")
        payload["alerts"][0]["labels"]["instance"] = f"checkout-{index}:8080"
        payload["alerts"][0]["fingerprint"] = f"{index:016x}"
        status = post(token, payload)
        # As the task does: a processor that finds another at work comes back later.
        while alerts_process_pending(integration_id=integration_id).busy:
            time.sleep(0.01)
        return status

    statuses = at_once(10, post_one)

    assert statuses == [200] * 10
    incident = Incident.objects.get()
    assert incident.alerts.count() == 10
    assert not Alert.objects.filter(needs_processing=True).exists()


def test_deliveries_of_the_same_alerts_in_different_orders_at_once_all_succeed(hook):
    _, token = hook
    storm = fixture("alertmanager", "storm")

    def post_shuffled(index: int) -> int:
        payload = dict(storm, alerts=random.Random(index).sample(storm["alerts"], 50))
        return post(token, payload)

    statuses = at_once(8, post_shuffled)

    assert statuses == [200] * 8
    assert Alert.objects.count() == 50


@contextmanager
def processor_mid_batch(monkeypatch: pytest.MonkeyPatch, integration_id: int) -> Iterator[None]:
    """A processor in another thread, held after reading its batch until the block ends."""
    working, release = threading.Event(), threading.Event()
    process = processing._Processor.process

    def slow_process(self: Any, alert: Alert) -> None:
        working.set()
        release.wait(TIMEOUT)
        process(self, alert)

    monkeypatch.setattr(processing._Processor, "process", slow_process)
    processor = in_thread(lambda: alerts_process_pending(integration_id=integration_id))
    try:
        assert working.wait(TIMEOUT)
        yield
    finally:
        release.set()
        processor.join(TIMEOUT)
        monkeypatch.setattr(processing._Processor, "process", process)


def test_a_delivery_is_stored_while_the_processor_works(hook, monkeypatch):
    integration_id, token = hook
    assert post(token, fixture("alertmanager", "firing")) == 200
    statuses: list[int] = []

    with processor_mid_batch(monkeypatch, integration_id):
        delivery = in_thread(
            lambda: statuses.append(post(token, fixture("alertmanager", "grouped_firing")))
        )
        delivery.join(5)

        assert statuses == [200], "the delivery waited for the processor"


def test_an_alert_changed_while_the_processor_works_stays_pending_for_the_next_run(
    hook, monkeypatch
):
    integration_id, token = hook
    assert post(token, fixture("alertmanager", "firing")) == 200

    with processor_mid_batch(monkeypatch, integration_id):
        assert post(token, fixture("alertmanager", "resolved")) == 200

    alert = Alert.objects.get()
    assert alert.status == "resolved"
    assert alert.incident is not None, "the firing the processor read declared an incident"
    assert alert.needs_processing, "the resolution arrived after the read: still to do"

    alerts_process_pending(integration_id=integration_id)

    incident = Incident.objects.get()
    assert incident.status == "monitoring"
    assert list(
        incident.timeline.filter(kind=EventKind.ALERT).values_list("data__status", flat=True)
    ) == ["firing", "resolved"]


@contextmanager
def integration_held(integration_id: int) -> Iterator[None]:
    """Another connection holds the integration's row lock, as a processor at work does."""
    held, release = threading.Event(), threading.Event()

    def hold_the_integration() -> None:
        with transaction.atomic():
            Integration.objects.select_for_update().get(pk=integration_id)
            held.set()
            release.wait(TIMEOUT)

    holder = in_thread(hold_the_integration)
    try:
        assert held.wait(TIMEOUT)
        yield
    finally:
        release.set()
        holder.join(TIMEOUT)


def test_a_processor_finding_another_at_work_returns_at_once_and_reads_nothing(hook):
    integration_id, token = hook
    assert post(token, fixture("alertmanager", "firing")) == 200

    with integration_held(integration_id):
        began = time.monotonic()
        result = alerts_process_pending(integration_id=integration_id)
        waited = time.monotonic() - began

    assert result.busy
    assert result.processed == 0
    assert waited < 2
    assert Alert.objects.get().needs_processing
    assert not alerts_process_pending(integration_id=integration_id).busy
    assert not Alert.objects.get().needs_processing


def test_a_task_finding_another_at_work_comes_back_shortly_instead_of_waiting(hook, monkeypatch):
    integration_id, token = hook
    assert post(token, fixture("alertmanager", "firing")) == 200
    queued: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(
        tasks.process_alerts, "apply_async", lambda args, **options: queued.append((args, options))
    )

    with integration_held(integration_id):
        processed = tasks.process_alerts.run(integration_id)

    assert processed == 0
    assert queued == [((integration_id,), {"countdown": tasks.BUSY_RETRY_SECONDS})]


def meanwhile(
    monkeypatch: pytest.MonkeyPatch, owner: Any, step: str, work: Callable[[], Any]
) -> None:
    """Commit `work` on another connection once the batch has read and decided, just before
    `owner.step` (_Processor.settle_incidents, or processing._lock_unchanged)."""
    original = getattr(owner, step)

    def racing(*args: Any) -> Any:
        in_thread(work).join(TIMEOUT)
        return original(*args)

    monkeypatch.setattr(owner, step, racing)


def alert_messages(incident: Incident) -> list[str]:
    return list(
        incident.timeline.filter(kind=EventKind.ALERT)
        .order_by("id")
        .values_list("message", flat=True)
    )


@pytest.mark.parametrize("kind", [IntegrationKind.EVENTS_V2, IntegrationKind.GENERIC])
def test_a_repeat_arriving_during_a_batch_is_not_processed_again(monkeypatch, kind):
    # These sources stamp a repeat with its receipt time: the same status, a newer event time.
    integration = make_integration(kind=kind)
    first = timezone.now() - timedelta(seconds=30)
    alert_events_ingest(integration=integration, events=[firing("k", at=first)])
    repeat = firing("k", at=first + timedelta(seconds=10))
    meanwhile(
        monkeypatch,
        processing,
        "_lock_unchanged",
        lambda: alert_events_ingest(integration=integration, events=[repeat]),
    )

    alerts_process_pending(integration_id=integration.pk)
    monkeypatch.undo()
    alerts_process_pending(integration_id=integration.pk)

    assert alert_messages(Incident.objects.get()) == ["Alert firing: HighErrorRate on checkout"]
    assert not Alert.objects.get().needs_processing


def test_an_alert_does_not_join_an_incident_a_responder_resolved_during_its_batch(monkeypatch):
    integration = make_integration()
    alert_events_ingest(integration=integration, events=[firing("a", instance="a")])
    alerts_process_pending(integration_id=integration.pk)
    first = Incident.objects.get()
    alert_events_ingest(integration=integration, events=[firing("b", instance="b")])
    meanwhile(
        monkeypatch,
        processing._Processor,
        "settle_incidents",
        lambda: incident_services.incident_resolve(
            incident=Incident.objects.get(pk=first.pk), actor=SYSTEM, resolution="fixed"
        ),
    )

    alerts_process_pending(integration_id=integration.pk)

    b = Alert.objects.get(dedup_key="b")
    assert b.incident is None and b.needs_processing, "processed again, not left on INC-1"
    assert alert_messages(first) == ["Alert firing: HighErrorRate on checkout"]
    monkeypatch.undo()
    alerts_process_pending(integration_id=integration.pk)
    b.refresh_from_db()
    assert b.incident is not None and b.incident.is_open and b.incident != first


def test_a_batch_raises_a_severity_but_never_lowers_what_a_responder_set_meanwhile(monkeypatch):
    integration = make_integration()
    alert_events_ingest(
        integration=integration, events=[firing("a", instance="a", severity="info")]
    )
    alerts_process_pending(integration_id=integration.pk)
    incident = Incident.objects.get()
    alert_events_ingest(
        integration=integration, events=[firing("b", instance="b", severity="error")]
    )
    meanwhile(
        monkeypatch,
        processing._Processor,
        "settle_incidents",
        lambda: incident_services.incident_set_severity(
            incident=Incident.objects.get(pk=incident.pk),
            actor=SYSTEM,
            severity=Severity.objects.get(name="SEV1"),
        ),
    )

    alerts_process_pending(integration_id=integration.pk)

    incident.refresh_from_db()
    assert incident.severity.name == "SEV1"
    assert not incident.timeline.filter(message__contains="lowered").exists()
