"""Acknowledging from a page: the signed link, an SMS reply, a key pressed during a call."""

import base64
import hashlib
import hmac
import time

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from incidents.models import EventKind, Source, Status
from oncall.acklinks import ack_url
from oncall.models import ContactKind, Notification, NotificationState
from oncall.services import escalations
from tests.factories import declare
from tests.oncall.factories import pageable, policy

pytestmark = pytest.mark.django_db

PHONE = "+14155550100"
TWILIO_TOKEN = "twilio-auth-token"


def paged_notification(kind: str = ContactKind.EMAIL):
    person = pageable("alice", kind=kind, address=PHONE if kind != ContactKind.EMAIL else "")
    policy((5, [person]))
    incident = declare(severity_name="SEV2")
    escalation = escalations.escalation_start(incident=incident, now=incident.declared_at)
    assert escalation is not None
    escalations.escalation_advance(escalation_id=escalation.pk, now=incident.declared_at)
    # As if delivered: the person has the page in hand.
    Notification.objects.filter(incident=incident).update(
        state=NotificationState.SENT, sent_at=timezone.now()
    )
    return Notification.objects.get(incident=incident)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_opening_the_link_asks_before_acknowledging(client):
    notification = paged_notification()

    response = client.get(path_of(ack_url(notification.pk)))

    assert response.status_code == 200
    assert b"Acknowledge INC-" in response.content
    notification.incident.refresh_from_db()
    # Mail scanners open links: a GET must not acknowledge.
    assert notification.incident.status == Status.DETECTED


def test_pressing_the_button_acknowledges_as_the_person_paged(client):
    notification = paged_notification()

    response = client.post(path_of(ack_url(notification.pk)))

    assert response.status_code == 200
    assert b"Acknowledged INC-" in response.content
    incident = notification.incident
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    entry = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert entry.actor == notification.user
    assert entry.source == Source.PAGE


def test_an_altered_link_does_not_work(client):
    notification = paged_notification()
    other = Notification.objects.create(
        key="other",
        incident=notification.incident,
        user=notification.user,
        contact_method=notification.contact_method,
        due_at=notification.due_at,
        created_at=notification.created_at,
    )
    token = ack_url(notification.pk).rsplit("/", 1)[1]
    # The signature of one notification's link, put on another (existing) one.
    forged = token.replace(str(notification.pk), str(other.pk), 1)

    response = client.post(reverse("oncall:ack", kwargs={"token": forged}))

    assert response.status_code == 404
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED


def test_a_link_older_than_a_day_has_expired(client):
    notification = paged_notification()

    class YesterdaysSigner(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 25 * 3600)

    old = YesterdaysSigner(salt="oncall.ack-link").sign(str(notification.pk))
    response = client.post(reverse("oncall:ack", kwargs={"token": old}))

    assert response.status_code == 404
    assert b"expired" in response.content


def twilio_signature(url: str, params: dict[str, str]) -> str:
    # Twilio's documented scheme: the URL, then each POST parameter name and value, sorted.
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_post(client, settings, path: str, params: dict[str, str], *, signature: str = ""):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    url = settings.BASE_URL + path
    return client.post(
        path, params, HTTP_X_TWILIO_SIGNATURE=signature or twilio_signature(url, params)
    )


def test_replying_ack_to_an_sms_page_acknowledges_the_incident(client, settings):
    notification = paged_notification(ContactKind.SMS)

    response = twilio_post(
        client, settings, "/hooks/twilio/sms", {"From": PHONE, "Body": "ack", "To": "+1500"}
    )

    assert response.status_code == 200
    assert b"<Message>Acknowledged INC-" in response.content
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.ACKNOWLEDGED


def test_an_sms_reply_may_name_the_incident(client, settings):
    notification = paged_notification(ContactKind.SMS)
    number = notification.incident.number

    twilio_post(client, settings, "/hooks/twilio/sms", {"From": PHONE, "Body": f"ACK {number}"})

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.ACKNOWLEDGED


def test_an_sms_reply_does_not_acknowledge_a_page_not_yet_sent(client, settings):
    notification = paged_notification(ContactKind.SMS)
    Notification.objects.filter(pk=notification.pk).update(state="pending")

    response = twilio_post(client, settings, "/hooks/twilio/sms", {"From": PHONE, "Body": "ack"})

    assert b"No open page" in response.content
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED


def test_an_sms_from_a_number_nobody_paged_acknowledges_nothing(client, settings):
    notification = paged_notification(ContactKind.SMS)

    response = twilio_post(
        client, settings, "/hooks/twilio/sms", {"From": "+19995550000", "Body": "ack"}
    )

    assert b"No open page" in response.content
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED


def test_an_sms_without_twilios_signature_is_refused(client, settings):
    notification = paged_notification(ContactKind.SMS)

    response = twilio_post(
        client,
        settings,
        "/hooks/twilio/sms",
        {"From": PHONE, "Body": "ack"},
        signature="bm90IGEgc2lnbmF0dXJl",
    )

    assert response.status_code == 403
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED


def test_pressing_1_during_a_voice_page_acknowledges(client, settings):
    notification = paged_notification(ContactKind.VOICE)
    path = f"/hooks/twilio/voice/{notification.pk}"

    response = twilio_post(client, settings, path, {"Digits": "1", "CallSid": "CA123"})

    assert b"<Say>Acknowledged INC-" in response.content
    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.ACKNOWLEDGED


def test_pressing_another_key_acknowledges_nothing(client, settings):
    notification = paged_notification(ContactKind.VOICE)
    path = f"/hooks/twilio/voice/{notification.pk}"

    twilio_post(client, settings, path, {"Digits": "9"})

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED
