"""Webhook subscribers get Statuspage's payload, signed; only a 2xx within the timeout counts
(a redirect is not followed and is a failure); failures back off, and enough of them in a row
disable the subscriber, every attempt kept."""

import hashlib
import hmac
import time

import pytest

from statuspage.models import (
    ComponentGroup,
    DeliveryState,
    Subscriber,
    SubscriberNotification,
    WebhookAttempt,
)
from statuspage.subscriptions import delivery, services
from tests.statuspage.subscriptions_fixtures import (
    component,
    deliver_fixture,  # noqa: F401
    maintenance_update,
    public_update,
    run_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(webhook_receiver) -> Subscriber:
    return services.webhook_subscriber_create(url=webhook_receiver.url_for("/status-hook"))


def test_an_update_is_posted_in_statuspages_shape_and_signed(webhook_receiver, hook, deliver):
    api = component("API")
    update = public_update(components=[api], name="API errors", body="Rolling back.")

    services.notify_public_update(update.pk)
    deliver()

    [request] = webhook_receiver.requests
    assert request.path == "/status-hook"
    timestamp = request.headers["x-tocsin-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    # What a receiver does: HMAC-SHA256 of "<timestamp>.<raw body>" with its secret.
    expected = hmac.new(
        hook.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-tocsin-signature"] == f"v1={expected}"
    payload = request.json()
    assert set(payload) == {"meta", "page", "incident"}
    assert set(payload["meta"]) == {"unsubscribe", "documentation", "generated_at"}
    assert payload["meta"]["unsubscribe"].endswith(f"/status/unsubscribe/{hook.token}/")
    assert payload["page"]["id"] == "tocsin"
    assert payload["page"]["status_indicator"] == "major"
    incident = payload["incident"]
    assert incident["id"] == update.public_incident.code
    assert incident["name"] == "API errors"
    assert incident["status"] == "investigating"
    assert incident["impact"] == "major"
    assert incident["shortlink"].endswith(f"/status/incidents/{incident['id']}/")
    [posted] = incident["incident_updates"]
    assert posted["body"] == "Rolling back."
    assert posted["id"] == update.code
    assert [c["name"] for c in incident["components"]] == ["API"]
    assert SubscriberNotification.objects.get().state == DeliveryState.SENT
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.status_code, attempt.succeeded) == (200, True)


def test_a_signature_with_another_secret_does_not_verify(webhook_receiver, hook, deliver):
    services.notify_public_update(public_update().pk)
    deliver()

    [request] = webhook_receiver.requests
    timestamp = request.headers["x-tocsin-timestamp"]
    forged = hmac.new(b"guess", timestamp.encode() + b"." + request.body, hashlib.sha256)
    assert request.headers["x-tocsin-signature"] != f"v1={forged.hexdigest()}"


def test_a_maintenance_event_is_posted_with_its_schedule(webhook_receiver, hook, deliver):
    services.notify_maintenance_event(maintenance_update().pk)
    deliver()

    incident = webhook_receiver.requests[0].json()["incident"]
    assert incident["name"] == "Database upgrade"
    assert incident["status"] == "scheduled"
    assert incident["impact"] == "maintenance"
    assert incident["scheduled_for"] and incident["scheduled_until"]
    assert incident["shortlink"].endswith(f"/status/incidents/{incident['id']}/")


def test_a_redirect_is_a_failure_and_is_not_followed(webhook_receiver, hook, clock, deliver):
    webhook_receiver.respond_with(302, headers={"Location": webhook_receiver.url_for("/other")})
    services.notify_public_update(public_update().pk)

    deliver()

    assert [r.path for r in webhook_receiver.requests] == ["/status-hook"]
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.status_code, attempt.succeeded) == (302, False)
    assert "redirect" in attempt.error
    row = SubscriberNotification.objects.get()
    assert row.state == DeliveryState.PENDING
    assert row.due_at == clock.now + delivery.FIRST_RETRY


def test_an_answer_later_than_the_timeout_is_a_failure(webhook_receiver, hook, settings, deliver):
    settings.STATUSPAGE_WEBHOOK_TIMEOUT = 0.5
    webhook_receiver.respond_with(200, delay=3)
    services.notify_public_update(public_update().pk)

    began = time.monotonic()
    deliver()

    assert time.monotonic() - began < 2.5
    [attempt] = WebhookAttempt.objects.all()
    assert attempt.succeeded is False
    assert attempt.status_code is None
    assert attempt.error
    assert SubscriberNotification.objects.get().state == DeliveryState.PENDING


def test_a_server_error_is_retried_with_backoff_until_it_succeeds(
    webhook_receiver, hook, clock, deliver
):
    webhook_receiver.respond_with(503)
    services.notify_public_update(public_update().pk)
    deliver()
    clock.advance(seconds=delivery.FIRST_RETRY.total_seconds())

    deliver()

    assert [a.status_code for a in WebhookAttempt.objects.all()] == [503, 200]
    assert SubscriberNotification.objects.get().state == DeliveryState.SENT
    assert Subscriber.objects.get().consecutive_failures == 0


def test_failures_in_a_row_disable_the_subscriber_with_every_attempt_kept(
    webhook_receiver, hook, clock, settings, deliver
):
    settings.STATUSPAGE_WEBHOOK_DISABLE_AFTER = 3
    webhook_receiver.respond_with(500, times=10)
    services.notify_public_update(public_update().pk)
    services.notify_public_update(public_update().pk)

    for _ in range(4):
        deliver()
        clock.advance(hours=2)

    subscriber = Subscriber.objects.get()
    assert subscriber.disabled_at is not None
    assert subscriber.consecutive_failures == 3
    attempts = WebhookAttempt.objects.all()
    assert [a.status_code for a in attempts] == [500, 500, 500]
    assert all(a.duration_ms >= 0 and not a.succeeded for a in attempts)
    assert set(SubscriberNotification.objects.values_list("state", flat=True)) == {
        DeliveryState.FAILED
    }
    # Disabled: it hears of nothing new.
    assert services.notify_public_update(public_update().pk) == 0


def test_a_private_destination_is_refused(settings):
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False

    with pytest.raises(services.InvalidSubscriber, match="not a public address"):
        services.webhook_subscriber_create(url="http://127.0.0.1:9/hook")
    assert not Subscriber.objects.exists()


def test_a_destination_that_turned_private_is_not_posted_to(
    webhook_receiver, hook, settings, deliver
):
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False
    services.notify_public_update(public_update().pk)

    deliver()

    webhook_receiver.assert_nothing_sent()
    [attempt] = WebhookAttempt.objects.all()
    assert "not a public address" in attempt.error


def test_staff_add_a_webhook_subscriber_in_the_admin(client, webhook_receiver):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = webhook_receiver.url_for("/from-admin")

    response = client.post(
        "/admin/statuspage/subscriber/add/",
        {"kind": "webhook", "address": url, "all_components": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    subscriber = Subscriber.objects.get()
    assert subscriber.is_active
    assert len(subscriber.secret) == 64


def test_an_affected_component_is_named_with_its_group_as_the_json_api_names_it(
    client, webhook_receiver, hook, deliver
):
    checkout = component("Checkout API")
    checkout.group = ComponentGroup.objects.create(name="Payments")
    checkout.save(update_fields=["group"])
    update = public_update(components=[checkout])
    update.affected_components = [
        {
            "code": checkout.code,
            "name": "Checkout API",
            "old_status": "operational",
            "new_status": "major_outage",
        }
    ]
    update.save(update_fields=["affected_components"])

    services.notify_public_update(update.pk)
    deliver()

    [request] = [r for r in webhook_receiver.requests if "incident" in r.json()]
    [posted] = request.json()["incident"]["incident_updates"]
    assert [moved["name"] for moved in posted["affected_components"]] == ["Payments - Checkout API"]
    listed = client.get("/status/api/v2/incidents.json").json()["incidents"][0]
    assert posted["affected_components"] == listed["incident_updates"][0]["affected_components"]


def test_an_update_that_moved_no_component_posts_an_empty_list(webhook_receiver, hook, deliver):
    services.notify_public_update(public_update().pk)
    deliver()

    [posted] = webhook_receiver.requests[0].json()["incident"]["incident_updates"]
    assert posted["affected_components"] == []
