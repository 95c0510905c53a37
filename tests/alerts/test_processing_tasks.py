"""How deliveries get a worker to act on them: one queued task per integration at a time."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from alerts import tasks
from alerts.models import Alert
from alerts.services import processing
from alerts.services.ingest import alert_events_ingest
from alerts.services.processing import DECLARE_PER_BATCH
from tests.alerts.factories import firing, make_integration, resolved


def test_the_first_delivery_queues_processing(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", queued.append)
    integration = make_integration()

    tasks.process_alerts_soon(integration.pk)

    assert queued == [integration.pk]


def test_deliveries_while_a_task_is_queued_queue_nothing_more(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", queued.append)
    integration = make_integration()

    for _ in range(5):
        tasks.process_alerts_soon(integration.pk)

    assert queued == [integration.pk]


def test_each_integration_gets_its_own_task(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", queued.append)
    first, second = make_integration(name="one"), make_integration(name="two")

    tasks.process_alerts_soon(first.pk)
    tasks.process_alerts_soon(second.pk)

    assert queued == [first.pk, second.pk]


def test_a_delivery_after_the_task_started_queues_a_new_one(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", queued.append)
    integration = make_integration()
    tasks.process_alerts_soon(integration.pk)

    tasks.process_alerts.run(integration.pk)
    tasks.process_alerts_soon(integration.pk)

    assert queued == [integration.pk, integration.pk]


def test_the_queued_task_processes_what_was_delivered_before_it_ran(db, monkeypatch):
    monkeypatch.setattr(tasks.process_alerts, "delay", lambda integration_id: None)
    integration = make_integration()
    alert_events_ingest(integration=integration, events=[firing("fp1")])
    tasks.process_alerts_soon(integration.pk)
    alert_events_ingest(integration=integration, events=[firing("fp2", instance="b")])
    tasks.process_alerts_soon(integration.pk)  # covered by the queued task

    processed = tasks.process_alerts.run(integration.pk)

    assert processed == 2
    assert not Alert.objects.filter(needs_processing=True).exists()


def test_a_task_that_left_alerts_pending_queues_the_next_at_once(db, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", queued.append)
    integration = make_integration(max_incidents_per_minute=1000)
    alert_events_ingest(
        integration=integration,
        events=[firing(f"fp{n}", service=f"svc{n}") for n in range(DECLARE_PER_BATCH + 1)],
    )

    tasks.process_alerts.run(integration.pk)

    assert queued == [integration.pk]
    tasks.process_alerts.run(integration.pk)
    assert queued == [integration.pk], "nothing was left: no further task"
    assert not Alert.objects.filter(needs_processing=True).exists()


def test_an_alert_that_fails_each_time_is_set_aside_and_the_others_go_on(db, monkeypatch):
    monkeypatch.setattr(tasks.process_alerts, "delay", lambda integration_id: None)
    monkeypatch.setattr(tasks.process_alerts, "apply_async", lambda *args, **kwargs: None)
    integration = make_integration()
    now = timezone.now()
    alert_events_ingest(
        integration=integration,
        events=[
            firing("odd", at=now - timedelta(minutes=3), service="odd"),
            firing("b", at=now - timedelta(minutes=2), service="b"),
            firing("c", at=now - timedelta(minutes=1), service="c"),
        ],
    )
    # A bug that only this one alert meets.
    declare = processing._Processor._declare

    def failing_for_odd(self: Any, alert: Alert, severity: Any) -> Any:
        if alert.dedup_key == "odd":
            raise RuntimeError("a bug meeting an odd alert")
        return declare(self, alert, severity)

    monkeypatch.setattr(processing._Processor, "_declare", failing_for_odd)

    tasks.process_alerts.run(integration.pk)  # the batch fails; the odd alert alone fails too
    tasks.process_alerts.run(integration.pk)  # the others go on

    odd, b, c = Alert.objects.order_by("event_at")
    assert b.incident is not None and c.incident is not None
    assert odd.incident is None and odd.needs_processing
    assert odd.process_failures == 1
    assert odd.process_after is not None and odd.process_after > timezone.now()

    monkeypatch.setattr(processing._Processor, "_declare", declare)  # the bug is fixed
    processing.alerts_process_pending(
        integration_id=integration.pk, now=timezone.now() + timedelta(minutes=2)
    )

    odd.refresh_from_db()
    assert odd.incident is not None and not odd.needs_processing


def failing_for(monkeypatch: pytest.MonkeyPatch, *keys: str, error: Exception | None = None) -> Any:
    """Make declaring an incident fail for these alerts' keys (every alert's, with none): a
    bug meeting odd alerts. Returns the real method, to put back."""
    declare = processing._Processor._declare

    def failing(self: Any, alert: Alert, severity: Any) -> Any:
        if not keys or alert.dedup_key in keys:
            raise error or RuntimeError("a bug meeting an odd alert")
        return declare(self, alert, severity)

    monkeypatch.setattr(processing._Processor, "_declare", failing)
    return declare


def no_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.process_alerts, "delay", lambda integration_id: None)
    monkeypatch.setattr(tasks.process_alerts, "apply_async", lambda *args, **kwargs: None)


def one_a_group(integration: Any, count: int) -> list[str]:
    now = timezone.now()
    keys = [f"k{n:02d}" for n in range(count)]
    alert_events_ingest(
        integration=integration,
        events=[
            firing(key, at=now - timedelta(minutes=10) + timedelta(seconds=n), service=key)
            for n, key in enumerate(keys)
        ],
    )
    return keys


def test_an_alert_failing_deep_in_a_batch_is_found_in_one_run(db, monkeypatch):
    no_queue(monkeypatch)
    integration = make_integration()
    now = timezone.now() - timedelta(minutes=10)
    # 30 alerts of one group (one incident), then an odd one, then one more.
    alert_events_ingest(
        integration=integration,
        events=[
            *[
                firing(f"a{n:02d}", at=now + timedelta(seconds=n), instance=str(n))
                for n in range(30)
            ],
            firing("odd", at=now + timedelta(seconds=40), service="odd"),
            firing("last", at=now + timedelta(seconds=50), service="last"),
        ],
    )
    failing_for(monkeypatch, "odd")

    tasks.process_alerts.run(integration.pk)

    odd = Alert.objects.get(dedup_key="odd")
    assert odd.process_failures == 1 and odd.needs_processing
    assert Alert.objects.filter(incident__isnull=False).count() == 31


def test_a_fault_every_alert_meets_sets_none_aside_and_they_go_once_it_is_fixed(db, monkeypatch):
    no_queue(monkeypatch)
    integration = make_integration()
    one_a_group(integration, 3)
    declare = failing_for(monkeypatch)

    tasks.process_alerts.run(integration.pk)

    assert not Alert.objects.filter(process_failures__gt=0).exists()
    monkeypatch.setattr(processing._Processor, "_declare", declare)  # the fix is deployed
    tasks.process_alerts.run(integration.pk)
    assert Alert.objects.filter(incident__isnull=False).count() == 3


def test_a_database_error_sets_no_alert_aside(db, monkeypatch):
    no_queue(monkeypatch)
    integration = make_integration()
    one_a_group(integration, 2)
    failing_for(monkeypatch, "k00", error=OperationalError("deadlock detected"))

    tasks.process_alerts.run(integration.pk)

    assert not Alert.objects.filter(process_failures__gt=0).exists()


def test_an_alert_processed_at_last_forgets_its_failures(db, monkeypatch):
    no_queue(monkeypatch)
    integration = make_integration()
    alert_events_ingest(integration=integration, events=[firing("once-odd")])
    Alert.objects.update(process_failures=6, process_after=timezone.now() - timedelta(seconds=1))

    tasks.process_alerts.run(integration.pk)

    alert = Alert.objects.get()
    assert (alert.process_failures, alert.process_after) == (0, None)
    assert alert.incident is not None


def test_a_new_status_is_processed_at_once_even_for_an_alert_set_aside(db, monkeypatch):
    no_queue(monkeypatch)
    integration = make_integration()
    started = timezone.now() - timedelta(minutes=5)
    alert_events_ingest(integration=integration, events=[firing("odd", at=started)])
    Alert.objects.update(process_failures=3, process_after=timezone.now() + timedelta(hours=1))

    alert_events_ingest(integration=integration, events=[resolved("odd", started=started)])

    assert Alert.objects.get().process_after is None
