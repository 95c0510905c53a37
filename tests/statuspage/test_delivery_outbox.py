"""The subscribers' outbox: each subscriber gets each update once, with two workers on the
same rows, reruns, a worker killed mid-batch, or an SMTP server that goes away."""

import email.policy
import threading
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage

import pytest
from django.db import connection

from config.celery import app
from statuspage.models import DeliveryState, SubscriberNotification
from statuspage.subscriptions import delivery, messages, services
from tests.harness import ROOT
from tests.statuspage.subscriptions_fixtures import (
    deliver_fixture,  # noqa: F401
    email_subscriber,
    public_update,
    run_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db


def states() -> Counter[str]:
    return Counter(SubscriberNotification.objects.values_list("state", flat=True))


def per_address(smtp_stub) -> Counter[str]:
    return Counter(rcpt for mail in smtp_stub.messages for rcpt in mail.rcpt_tos)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_given_the_same_rows_send_each_once(smtp_stub):
    addresses = [f"s{n}@example.com" for n in range(60)]
    for address in addresses:
        email_subscriber(address)
    services.notify_public_update(public_update().pk)
    handed: list[list[int]] = []
    delivery.deliver_due(enqueue=handed.extend)
    ids = [pk for batch in handed for pk in batch]
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            delivery.deliver_batch(ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert per_address(smtp_stub) == Counter(dict.fromkeys(addresses, 1))
    assert states() == Counter({DeliveryState.SENT: 60})


def test_a_rerun_of_a_batch_sends_nothing_more(smtp_stub, deliver):
    email_subscriber("pat@example.com")
    services.notify_public_update(public_update().pk)
    deliver()
    ids = list(SubscriberNotification.objects.values_list("pk", flat=True))

    outcome = delivery.deliver_batch(ids)

    assert outcome.skipped == 1
    assert len(smtp_stub.messages) == 1


def test_a_row_is_handed_out_once_while_its_task_is_on_its_way(clock):
    email_subscriber("pat@example.com")
    services.notify_public_update(public_update().pk)

    assert len(delivery.deliver_due(enqueue=lambda batches: None)) == 1
    clock.advance(seconds=30)
    assert delivery.deliver_due(enqueue=lambda batches: None) == []


def test_emails_go_out_in_batches_of_the_setting(settings, run):
    settings.STATUSPAGE_EMAIL_BATCH = 4
    for n in range(10):
        email_subscriber(f"s{n}@example.com")
    services.notify_public_update(public_update().pk)
    handed: list[list[int]] = []

    with_batches = run(lambda: delivery.deliver_due(enqueue=handed.extend))

    assert [len(batch) for batch in handed] == [4, 4, 2]
    assert sorted(pk for batch in handed for pk in batch) == sorted(with_batches)


def test_rows_a_killed_worker_held_are_sent_once_after_their_lease(
    smtp_stub, clock, deliver, settings
):
    for n in range(3):
        email_subscriber(f"s{n}@example.com")
    services.notify_public_update(public_update().pk)
    # A worker claimed the batch and was killed before it sent anything (SIGKILL, OOM).
    SubscriberNotification.objects.update(
        state=DeliveryState.SENDING, claimed_at=clock.now, attempts=1
    )

    clock.advance(seconds=settings.STATUSPAGE_DELIVERY_LEASE - 1)
    deliver()
    smtp_stub.assert_nothing_sent()

    clock.advance(seconds=2)
    deliver()
    clock.advance(seconds=settings.STATUSPAGE_DELIVERY_LEASE + 1)
    deliver()

    assert per_address(smtp_stub) == Counter(
        {"s0@example.com": 1, "s1@example.com": 1, "s2@example.com": 1}
    )
    assert states() == Counter({DeliveryState.SENT: 3})


def test_a_task_lost_with_redis_is_handed_out_again(smtp_stub, clock, deliver, settings):
    email_subscriber("pat@example.com")
    services.notify_public_update(public_update().pk)
    delivery.deliver_due(enqueue=lambda batches: None)  # the tasks never arrive

    clock.advance(seconds=settings.STATUSPAGE_DELIVERY_REQUEUE_AFTER + 1)
    deliver()

    assert len(smtp_stub.messages_to("pat@example.com")) == 1


def test_an_smtp_server_away_is_retried_with_backoff(
    smtp_stub, clock, deliver, settings, unused_port
):
    email_subscriber("pat@example.com")
    services.notify_public_update(public_update().pk)
    working = settings.MAILERS
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": unused_port, "timeout": 2},
        }
    }

    deliver()
    row = SubscriberNotification.objects.get()
    assert row.state == DeliveryState.PENDING
    assert row.due_at == clock.now + delivery.FIRST_RETRY
    assert "ConnectionRefused" in row.last_error

    settings.MAILERS = working
    clock.advance(seconds=delivery.FIRST_RETRY.total_seconds() - 1)
    deliver()
    smtp_stub.assert_nothing_sent()
    clock.advance(seconds=1)
    deliver()
    assert len(smtp_stub.messages_to("pat@example.com")) == 1
    assert SubscriberNotification.objects.get().state == DeliveryState.SENT


def test_a_refused_recipient_fails_at_once_and_the_batch_goes_on(smtp_stub, deliver):
    email_subscriber("gone@example.com")
    email_subscriber("pat@example.com")
    smtp_stub.refuse("gone@example.com")
    services.notify_public_update(public_update().pk)

    deliver()

    failed = SubscriberNotification.objects.get(subscriber__address="gone@example.com")
    assert failed.state == DeliveryState.FAILED
    assert "SMTPRecipientsRefused" in failed.last_error
    assert len(smtp_stub.messages_to("pat@example.com")) == 1


def test_a_batch_uses_one_smtp_connection(smtp_stub, deliver):
    for n in range(5):
        email_subscriber(f"s{n}@example.com")
    services.notify_public_update(public_update().pk)
    peers = []
    handle_data = smtp_stub.handle_DATA

    async def recording_peer(server, session, envelope):
        peers.append(session.peer)
        return await handle_data(server, session, envelope)

    smtp_stub.handle_DATA = recording_peer
    deliver()

    assert len(smtp_stub.messages) == 5
    assert len(set(peers)) == 1


def test_retry_delays_double_up_to_the_longest():
    assert delivery.retry_delay(1) == timedelta(seconds=30)
    assert delivery.retry_delay(2) == timedelta(seconds=60)
    assert delivery.retry_delay(20) == delivery.LONGEST_RETRY


def test_an_unsubscribe_cancels_what_was_waiting(smtp_stub, deliver):
    subscriber = email_subscriber("pat@example.com")
    services.notify_public_update(public_update().pk)

    services.subscriber_unsubscribe(token=subscriber.token)
    deliver()

    smtp_stub.assert_nothing_sent()
    assert states() == Counter({DeliveryState.FAILED: 1})


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def content(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def test_an_email_from_the_events_template_is_the_one_built_for_its_subscriber():
    email_subscriber("pat@example.com")
    # A long line with non-ASCII text: what a mailer would encode as quoted-printable or base64.
    body = "Les paiements échouent — nous revenons à la version précédente. " * 8
    services.notify_public_update(public_update(body=body).pk)
    row = SubscriberNotification.objects.select_related(
        "subscriber", "public_update__public_incident"
    ).get()
    contents = messages.EventContents(row.created_at)

    raw = messages.raw_message(row, contents)
    assert raw is not None
    fast = parsed(raw)
    slow = parsed(messages.email_message(row, contents).message().as_bytes())

    for header in ("To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert str(fast[header]).strip() == str(slow[header]).strip(), header
    assert content(fast, "plain") == content(slow, "plain")
    assert content(fast, "html") == content(slow, "html")
    assert row.subscriber.token in content(fast, "plain")
    assert body.strip() in content(fast, "plain")


def test_an_address_that_is_not_ascii_is_built_on_its_own():
    email_subscriber("zoë@example.com")
    services.notify_public_update(public_update().pk)
    row = SubscriberNotification.objects.select_related(
        "subscriber", "public_update__public_incident"
    ).get()

    assert messages.raw_message(row, messages.EventContents(row.created_at)) is None


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def test_a_published_update_is_delivered_by_the_tasks_its_commit_enqueues(smtp_stub, eager, run):
    email_subscriber("pat@example.com")
    update = public_update()

    run(lambda: services.notify_public_update(update.pk))

    assert len(smtp_stub.messages_to("pat@example.com")) == 1
    assert states() == Counter({DeliveryState.SENT: 1})


def test_the_tasks_are_registered_acknowledged_late_on_a_queue_workers_consume():
    # Workers import it at start: it is not an app's tasks module, which Celery finds itself.
    assert "statuspage.subscriptions.tasks" in app.conf.imports
    app.loader.import_default_modules()
    assert {
        "statuspage.subscriptions.tasks.deliver_due",
        "statuspage.subscriptions.tasks.deliver_batch",
    } <= set(app.tasks)
    assert app.tasks["statuspage.subscriptions.tasks.deliver_batch"].acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    consumed = procfile["worker"].split("--queues ", 1)[1].split()[0].split(",")
    route = app.amqp.router.route({}, "statuspage.subscriptions.tasks.deliver_batch")
    assert route["queue"].name in consumed
