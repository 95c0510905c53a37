"""The outbox's answers to a review: nothing withdrawn or cancelled goes out, a slow batch
never overlaps a rescuer, a subscriber hears one incident's updates in order, webhook payloads
name only visible components, and the log never carries a subscriber's address."""

import logging
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from statuspage.models import (
    DeliveryState,
    MaintenanceStatus,
    Subscriber,
    SubscriberNotification,
)
from statuspage.subscriptions import delivery, services
from tests.statuspage.subscriptions_fixtures import (
    component,
    deliver_fixture,  # noqa: F401
    email_subscriber,
    maintenance_update,
    public_update,
    run_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(webhook_receiver) -> Subscriber:
    return services.webhook_subscriber_create(url=webhook_receiver.url_for("/status-hook"))


def test_an_update_of_an_incident_withdrawn_since_it_was_queued_is_not_sent(
    smtp_stub, webhook_receiver, hook, deliver
):
    email_subscriber("pat@example.com")
    update = public_update()
    services.notify_public_update(update.pk)
    # Made private after publishing, before a worker took the rows.
    update.public_incident.withdrawn = True
    update.public_incident.save(update_fields=["withdrawn"])

    deliver()

    smtp_stub.assert_nothing_sent()
    webhook_receiver.assert_nothing_sent()
    rows = SubscriberNotification.objects.all()
    assert {row.state for row in rows} == {DeliveryState.FAILED}
    assert {row.last_error for row in rows} == {
        "Not sent: the incident was withdrawn from the public page."
    }


def test_a_cancelled_maintenance_sends_its_cancellation_and_nothing_older(
    smtp_stub, webhook_receiver, hook, deliver
):
    email_subscriber("pat@example.com")
    scheduled = maintenance_update()
    maintenance = scheduled.maintenance
    services.notify_maintenance_event(scheduled.pk)
    maintenance.status = MaintenanceStatus.CANCELLED
    maintenance.save(update_fields=["status"])
    services.notify_maintenance(maintenance_id=maintenance.pk, event="cancelled")

    for _ in range(3):
        deliver()

    [mail] = smtp_stub.messages_to("pat@example.com")
    assert "cancelled" in mail["Subject"]
    [request] = webhook_receiver.requests
    assert request.json()["incident"]["status"] == "cancelled"
    scheduled_rows = SubscriberNotification.objects.filter(event_key__endswith=":scheduled")
    assert {(row.state, row.last_error) for row in scheduled_rows} == {
        (DeliveryState.FAILED, "Not sent: the maintenance was cancelled.")
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_slower_than_its_lease_hands_the_rest_back_and_nothing_goes_twice(
    smtp_stub, settings
):
    # A relay taking 0.25 s a message, a lease of 2 s: a batch of 16 takes 4 s.
    settings.STATUSPAGE_DELIVERY_LEASE = 2
    smtp_stub.stall_rcpt(0.25)
    addresses = [f"s{n}@example.com" for n in range(16)]
    for address in addresses:
        email_subscriber(address)
    services.notify_public_update(public_update().pk)
    handed: list[list[int]] = []
    delivery.deliver_due(enqueue=handed.extend)
    [batch] = handed
    first: list[delivery.Outcome] = []

    def slow_worker() -> None:
        try:
            first.append(delivery.deliver_batch(batch))
        finally:
            connection.close()

    worker = threading.Thread(target=slow_worker)
    worker.start()
    # Past the lease: the tick hands out whatever the slow batch still holds to a rescuer,
    # which sends it while the first worker goes on.
    time.sleep(2.3)
    for _ in range(8):
        rescued: list[list[int]] = []
        delivery.deliver_due(enqueue=rescued.extend)
        for ids in rescued:
            delivery.deliver_batch(ids)
    worker.join(timeout=30)

    sent = Counter(rcpt for mail in smtp_stub.messages for rcpt in mail.rcpt_tos)
    assert sent == Counter(dict.fromkeys(addresses, 1))
    assert 0 < first[0].handed_back < 16
    assert Counter(SubscriberNotification.objects.values_list("state", flat=True)) == Counter(
        {DeliveryState.SENT: 16}
    )


def test_a_later_update_waits_for_an_earlier_one_backing_off(
    webhook_receiver, hook, clock, deliver
):
    first = public_update(body="Investigating.")
    incident = first.public_incident
    webhook_receiver.respond_with(503)
    services.notify_public_update(first.pk)
    deliver()
    assert SubscriberNotification.objects.get().state == DeliveryState.PENDING

    clock.advance(seconds=5)
    second = public_update(incident=incident, body="Fixed.", status="resolved")
    services.notify_public_update(second.pk)
    deliver()
    # Only the first was tried: the second waits behind it.
    assert len(webhook_receiver.requests) == 1

    clock.advance(minutes=5)
    deliver()
    deliver()

    bodies = [
        r.json()["incident"]["incident_updates"][0]["body"] for r in webhook_receiver.requests
    ]
    assert bodies == ["Investigating.", "Investigating.", "Fixed."]
    assert set(SubscriberNotification.objects.values_list("state", flat=True)) == {
        DeliveryState.SENT
    }


def test_updates_of_another_incident_are_not_held_back(webhook_receiver, hook, clock, deliver):
    webhook_receiver.respond_with(503)
    services.notify_public_update(public_update(body="One.").pk)
    deliver()

    clock.advance(seconds=5)
    services.notify_public_update(public_update(body="Two.").pk)
    deliver()

    bodies = [
        r.json()["incident"]["incident_updates"][0]["body"] for r in webhook_receiver.requests
    ]
    assert bodies == ["One.", "Two."]


def test_a_row_handed_out_before_an_earlier_one_failed_waits_for_it(
    webhook_receiver, hook, clock, run
):
    first = public_update(body="Investigating.")
    services.notify_public_update(first.pk)
    handed: list[list[int]] = []
    run(lambda: delivery.deliver_due(enqueue=handed.extend))
    clock.advance(seconds=1)
    second = public_update(incident=first.public_incident, body="Fixed.", status="resolved")
    services.notify_public_update(second.pk)
    webhook_receiver.respond_with(503)
    delivery.deliver_batch(handed[0])  # the first fails and backs off
    later = SubscriberNotification.objects.get(public_update=second)

    outcome = delivery.deliver_batch([later.pk])

    assert outcome.skipped == 1
    assert len(webhook_receiver.requests) == 1
    later.refresh_from_db()
    assert (later.state, later.claimed_at) == (DeliveryState.PENDING, None)


def test_a_webhook_names_only_components_the_public_sees(webhook_receiver, hook, deliver):
    api = component("API")
    billing = component("Billing")
    update = public_update(components=[api, billing])
    update.affected_components = [
        {"code": c.code, "name": str(c), "old_status": "operational", "new_status": "major_outage"}
        for c in (api, billing)
    ]
    update.save(update_fields=["affected_components"])
    billing.service.public = False
    billing.service.save(update_fields=["public"])

    services.notify_public_update(update.pk)
    deliver()

    # The incident's, not API's own component_update (hiding Billing recomputed the states).
    [request] = [r for r in webhook_receiver.requests if "incident" in r.json()]
    [posted] = request.json()["incident"]["incident_updates"]
    assert [moved["code"] for moved in posted["affected_components"]] == [api.code]
    assert posted["affected_components"][0]["name"] == "API"
    assert "Billing" not in request.body.decode()


def ours(caplog) -> str:
    # Our own records (the SMTP stub's server logs the addresses it is given).
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("statuspage"))


def test_a_refused_recipient_is_logged_by_row_and_code_without_its_address(
    smtp_stub, deliver, caplog
):
    email_subscriber("gone@example.com")
    smtp_stub.refuse("gone@example.com", reply="550 5.1.1 <gone@example.com> User unknown")
    services.notify_public_update(public_update().pk)

    with caplog.at_level(logging.INFO, logger="statuspage"):
        deliver()

    row = SubscriberNotification.objects.get()
    assert row.state == DeliveryState.FAILED
    logged = ours(caplog)
    assert "gone@example.com" not in logged
    assert f"notification {row.pk} " in logged
    assert "SMTPRecipientsRefused 550" in logged


def test_a_temporary_refusal_given_up_is_logged_without_the_address(
    smtp_stub, deliver, caplog, settings
):
    settings.STATUSPAGE_DELIVERY_MAX_ATTEMPTS = 1
    email_subscriber("full@example.com")
    smtp_stub.refuse("full@example.com", reply="452 4.2.2 <full@example.com> Mailbox full")
    services.notify_public_update(public_update().pk)

    with caplog.at_level(logging.INFO, logger="statuspage"):
        deliver()

    logged = ours(caplog)
    assert "full@example.com" not in logged
    assert "SMTPRecipientsRefused 452" in logged


def test_a_batch_past_its_lease_before_it_began_still_sends_one(smtp_stub, settings, run):
    # However slow the connection, each batch moves the outbox on by a message.
    settings.STATUSPAGE_DELIVERY_LEASE = 0
    for n in range(3):
        email_subscriber(f"s{n}@example.com")
    services.notify_public_update(public_update().pk)
    handed: list[list[int]] = []
    run(lambda: delivery.deliver_due(enqueue=handed.extend))

    outcome = delivery.deliver_batch(handed[0])

    assert (outcome.sent, outcome.handed_back) == (1, 2)
    assert len(smtp_stub.messages) == 1
    assert Counter(SubscriberNotification.objects.values_list("state", flat=True)) == Counter(
        {DeliveryState.SENT: 1, DeliveryState.PENDING: 2}
    )
