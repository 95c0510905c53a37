"""Delivering notifications: claiming, recording attempts, retrying, giving up, rescuing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import SYSTEM
from incidents import services as incident_services
from incidents.models import EventKind, Incident
from oncall.models import (
    AttemptStatus,
    ContactKind,
    ContactMethod,
    DeliveryAttempt,
    Notification,
    NotificationKind,
    NotificationState,
)
from oncall.notifiers import NotifierError
from oncall.services import deliveries, escalations
from tests.factories import declare
from tests.oncall.factories import contact, pageable, policy

pytestmark = pytest.mark.django_db

PHONE = "+14155550100"


def page(username: str = "alice", *, kind: str = ContactKind.EMAIL, address: str = ""):
    """Page one person for a fresh SEV2 incident; returns their (first) notification, due now."""
    person = pageable(username, kind=kind, address=address)
    if kind != ContactKind.EMAIL:
        contact(person)  # an email to be told about a disabled method
    policy((5, [person]))
    incident = declare(severity_name="SEV2")
    escalation = escalations.escalation_start(incident=incident, now=incident.declared_at)
    assert escalation is not None
    escalations.escalation_advance(escalation_id=escalation.pk, now=incident.declared_at)
    return Notification.objects.filter(user=person, contact_method__kind=kind).get()


def deliver(notification: Notification, *, at=None):
    outcome = deliveries.notification_deliver(
        notification_id=notification.pk, now=at or timezone.now()
    )
    notification.refresh_from_db()
    return outcome


def page_entries(incident: Incident) -> list[str]:
    return list(incident.timeline.filter(kind=EventKind.PAGE).values_list("message", flat=True))


def test_a_page_by_email_is_sent_with_the_incident_and_a_signed_ack_link(smtp_stub):
    notification = page()

    deliver(notification)

    [mail] = smtp_stub.messages_to("alice@example.com")
    incident = notification.incident
    assert mail["Subject"] == f"[SEV2] {incident.ref} Checkout is failing"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "/ack/" in text and "/ack/" in html
    assert notification.state == NotificationState.SENT
    assert notification.provider_id == mail["Message-ID"]


def test_every_attempt_is_a_row_and_a_timeline_entry(smtp_stub):
    notification = page()

    deliver(notification)

    [attempt] = DeliveryAttempt.objects.filter(notification=notification)
    assert attempt.status == AttemptStatus.SENT
    assert attempt.provider_id == notification.provider_id
    assert attempt.duration_ms >= 0
    assert "Page to Alice by Email sent" in page_entries(notification.incident)


def test_delivering_the_same_notification_twice_sends_it_once(smtp_stub):
    notification = page()

    first = deliver(notification)
    second = deliver(notification)

    assert (first.status, second.status) == (AttemptStatus.SENT, "skipped")
    assert len(smtp_stub.messages_to("alice@example.com")) == 1


def test_a_page_by_sms_carries_the_ack_link(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)

    deliver(notification)

    [sms] = twilio_stub.messages_to(PHONE)
    assert notification.incident.ref in sms["Body"]
    assert "/ack/" in sms["Body"]
    assert notification.provider_id.startswith("SM")


def test_a_transient_failure_is_retried_with_backoff(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    twilio_stub.fail_next(status=503, code=None, message="busy")
    before = timezone.now()

    outcome = deliver(notification)

    assert outcome.status == AttemptStatus.TRANSIENT
    assert notification.state == NotificationState.PENDING
    assert notification.due_at >= before + timedelta(seconds=10)
    assert twilio_stub.messages_to(PHONE) == []
    assert any("failed, will retry" in m for m in page_entries(notification.incident))

    deliver(notification, at=notification.due_at)

    assert notification.state == NotificationState.SENT
    assert len(twilio_stub.messages_to(PHONE)) == 1
    assert notification.attempts == 2


def test_a_retry_is_not_sent_before_it_is_due(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    twilio_stub.fail_next(status=503, code=None)
    deliver(notification)

    outcome = deliver(notification, at=notification.due_at - timedelta(seconds=1))

    assert outcome.status == "skipped"


def test_the_providers_retry_after_is_honoured(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    twilio_stub.fail_next(status=429, code=20429, retry_after=120)
    before = timezone.now()

    deliver(notification)

    assert notification.due_at >= before + timedelta(seconds=120)


def test_delivery_gives_up_after_the_last_attempt(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    twilio_stub.fail_next(status=503, code=None, times=deliveries.MAX_ATTEMPTS)

    for _ in range(deliveries.MAX_ATTEMPTS):
        deliver(notification, at=notification.due_at)

    assert notification.state == NotificationState.FAILED
    assert DeliveryAttempt.objects.filter(notification=notification).count() == 5
    assert twilio_stub.messages_to(PHONE) == []


def test_a_number_the_provider_rejects_is_disabled_and_its_owner_told_by_email(twilio_stub):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    twilio_stub.fail_next(status=400, code=21211, message="The 'To' number is not valid")

    outcome = deliver(notification)

    assert outcome.status == AttemptStatus.PERMANENT
    assert notification.state == NotificationState.FAILED
    method = ContactMethod.objects.get(kind=ContactKind.SMS)
    assert method.disabled_at is not None
    assert "21211" in method.disabled_reason
    notice = Notification.objects.get(kind=NotificationKind.NOTICE)
    assert notice.contact_method.kind == ContactKind.EMAIL
    assert PHONE in notice.body


def test_our_own_bad_credentials_disable_nobodys_number(twilio_stub, settings):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    settings.TWILIO_AUTH_TOKEN = "revoked"

    outcome = deliver(notification)

    assert outcome.status == AttemptStatus.TRANSIENT
    assert notification.state == NotificationState.PENDING
    assert ContactMethod.objects.get(kind=ContactKind.SMS).disabled_at is None


def test_a_page_for_an_incident_acknowledged_meanwhile_is_not_sent(smtp_stub):
    notification = page()
    incident_services.incident_acknowledge(incident=notification.incident, actor=SYSTEM)

    outcome = deliver(notification)

    assert outcome.status == "skipped"
    assert notification.state == NotificationState.CANCELLED
    smtp_stub.assert_nothing_sent()


def test_a_queued_delivery_whose_task_was_lost_is_enqueued_again(settings):
    notification = page()
    now = timezone.now()
    queued: list[int] = []
    deliveries.notifications_dispatch_due(now=now, enqueue=lambda ids: None)

    assert deliveries.notifications_rescue_stuck(now=now, enqueue=queued.extend) == []
    later = now + timedelta(seconds=settings.PAGING_REQUEUE_AFTER + 1)
    assert deliveries.notifications_rescue_stuck(now=later, enqueue=queued.extend) == [
        notification.pk
    ]


def test_a_delivery_whose_worker_died_is_handed_out_again_after_its_lease(settings):
    notification = page()
    now = timezone.now()
    Notification.objects.filter(pk=notification.pk).update(
        state=NotificationState.SENDING, claimed_at=now
    )

    assert deliveries.notifications_rescue_stuck(now=now + timedelta(seconds=5)) == []
    later = now + timedelta(seconds=settings.PAGING_DELIVERY_LEASE + 1)
    assert deliveries.notifications_rescue_stuck(now=later, enqueue=lambda ids: None) == [
        notification.pk
    ]
    notification.refresh_from_db()
    assert notification.state == NotificationState.QUEUED


def test_a_disabled_method_is_not_used(smtp_stub):
    notification = page()
    ContactMethod.objects.update(disabled_at=timezone.now(), disabled_reason="bounced")

    outcome = deliver(notification)

    assert outcome.status == "skipped"
    smtp_stub.assert_nothing_sent()


def test_a_delivery_that_outlived_its_lease_does_not_overwrite_the_second_workers_outcome(
    twilio_stub, settings
):
    notification = page(kind=ContactKind.SMS, address=PHONE)
    now = timezone.now()
    # Worker A claims it; its call runs past the lease; the row is handed to worker B.
    Notification.objects.filter(pk=notification.pk).update(
        state=NotificationState.SENDING, claimed_at=now, attempts=1
    )
    first_claim = Notification.objects.get(pk=notification.pk)
    later = now + timedelta(seconds=settings.PAGING_DELIVERY_LEASE + 1)
    deliveries.notifications_rescue_stuck(now=later, enqueue=lambda ids: None)
    deliver(notification, at=later)  # worker B sends it
    assert notification.state == NotificationState.SENT

    # Worker A's late failure finally arrives.
    deliveries._delivery_failed(
        first_claim,
        NotifierError("timed out", permanent=False),
        started=now,
        duration_ms=61_000,
    )

    notification.refresh_from_db()
    assert notification.state == NotificationState.SENT


def test_an_unexpected_error_counts_as_a_failed_attempt():
    notification = page()
    # A kind no notifier handles (a row written by hand, a channel removed): notifier_for
    # raises ValueError, not a NotifierError.
    ContactMethod.objects.filter(pk=notification.contact_method_id).update(kind="pigeon")

    outcome = deliver(notification)

    assert outcome.status == AttemptStatus.TRANSIENT
    assert notification.state == NotificationState.PENDING
    [attempt] = DeliveryAttempt.objects.filter(notification=notification)
    assert "pigeon" in attempt.error
