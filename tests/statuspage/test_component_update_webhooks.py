"""Webhook subscribers hear of each change of a public component's state, as Statuspage's do:
a `component_update` payload (held against Statuspage's documented example,
tests/statuspage/fixtures/statuspage_webhook_component_update.json, from
https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/), signed, through
the same outbox: once per subscriber and change however many recomputes and workers run, in
order per component. Email subscribers are not told (Statuspage emails incidents and
maintenance only), nor is anyone of a component the public does not see."""

import hashlib
import hmac
import json
import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import Service
from statuspage.models import (
    Component,
    ComponentState,
    ComponentStateChange,
    DeliveryState,
    PublicIncident,
    Subscriber,
    SubscriberNotification,
    WebhookAttempt,
)
from statuspage.services import states_recompute
from statuspage.subscriptions import delivery, services
from tests.factories import declare
from tests.harness import ROOT
from tests.statuspage.factories import post_public
from tests.statuspage.subscriptions_fixtures import (
    component,
    deliver_fixture,  # noqa: F401
    email_subscriber,
    public_update,
    run_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db

DOCUMENTED = json.loads(
    (ROOT / "tests/statuspage/fixtures/statuspage_webhook_component_update.json").read_text()
)
# What a real Statuspage delivery carries beyond the documented example, and ours too: when
# the body was made, the update's kind, and the whole component as components.json has it.
EXTRAS = {
    "meta": {"generated_at"},
    "page": set(),
    "component_update": {"component_type"},
    "component": {"page_id", "group_id", "description", "position", "showcase", "updated_at"},
}


def hook(receiver: Any, path: str, components: list[Component] | None = None) -> Subscriber:
    return services.webhook_subscriber_create(url=receiver.url_for(path), components=components)


def affect(*components: Component) -> PublicIncident:
    """An open public incident of major impact on `components`: partial outage once the
    states are recomputed."""
    return public_update(components=list(components)).public_incident


def resolve(incident: PublicIncident) -> None:
    incident.resolved_at = timezone.now()
    incident.save(update_fields=["resolved_at"])


def open_change(of: Component) -> ComponentStateChange:
    return ComponentStateChange.objects.get(component=of, ended_at__isnull=True)


def parsed(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def event_of(request: Any) -> str:
    """What a payload tells of: its key after `meta` and `page`."""
    return list(request.json())[2]


def milliseconds(moment: datetime) -> datetime:
    """As the JSON has it (DjangoJSONEncoder keeps milliseconds)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_a_change_is_posted_in_statuspages_documented_shape_and_signed(webhook_receiver, deliver):
    subscriber = hook(webhook_receiver, "/status-hook")
    api = component("Search API")
    affect(api)

    [move] = states_recompute()
    deliver()

    [request] = webhook_receiver.requests
    timestamp = request.headers["x-tocsin-timestamp"]
    expected = hmac.new(
        subscriber.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-tocsin-signature"] == f"v1={expected}"
    payload = request.json()
    assert list(payload) == ["meta", "page", "component_update", "component"]
    assert set(payload) == set(DOCUMENTED)
    for name, documented in DOCUMENTED.items():
        assert set(payload[name]) == set(documented) | EXTRAS[name], name
        for key, example in documented.items():
            assert type(payload[name][key]) is type(example), f"{name}.{key}"
    api.refresh_from_db()
    change = open_change(api)
    update, posted = payload["component_update"], payload["component"]
    assert (update["old_status"], update["new_status"]) == ("operational", "partial_outage")
    assert (move.old, move.new) == (update["old_status"], update["new_status"])
    assert update["component_id"] == posted["id"] == api.code
    assert parsed(update["created_at"]) == milliseconds(change.started_at)
    assert update["component_type"] == "Component"
    # Opaque, as every id on the page: not the row's number.
    assert update["id"] != str(change.pk)
    assert len(update["id"]) == 12
    assert posted["name"] == "Search API"
    assert posted["status"] == "partial_outage"
    assert parsed(posted["created_at"]) == milliseconds(api.created_at)
    assert payload["meta"]["unsubscribe"].endswith(f"/status/unsubscribe/{subscriber.token}/")
    assert payload["page"]["id"] == "tocsin"
    assert payload["page"]["status_indicator"] == "major"
    row = SubscriberNotification.objects.get()
    assert row.event_key == f"component:{change.pk}"
    assert row.state == DeliveryState.SENT
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.status_code, attempt.succeeded) == (200, True)


def test_a_change_reaches_webhooks_of_that_component_and_of_everything_only(
    webhook_receiver, smtp_stub, deliver
):
    api, web = component("API"), component("Website")
    hook(webhook_receiver, "/everything")
    hook(webhook_receiver, "/api", components=[api])
    hook(webhook_receiver, "/web", components=[web])
    email_subscriber("all@example.com")
    email_subscriber("api@example.com", components=[api])
    affect(api)

    states_recompute()
    deliver()

    assert sorted(r.path for r in webhook_receiver.requests) == ["/api", "/everything"]
    assert {r.json()["component"]["id"] for r in webhook_receiver.requests} == {api.code}
    smtp_stub.assert_nothing_sent()
    assert not SubscriberNotification.objects.filter(subscriber__kind="email").exists()


def test_an_unconfirmed_unsubscribed_or_disabled_webhook_is_not_told(webhook_receiver, deliver):
    api = component("API")
    for path, field in (("/gone", "unsubscribed_at"), ("/off", "disabled_at")):
        subscriber = hook(webhook_receiver, path)
        setattr(subscriber, field, timezone.now())
        subscriber.save(update_fields=[field])
    affect(api)

    states_recompute()
    deliver()

    webhook_receiver.assert_nothing_sent()
    assert not SubscriberNotification.objects.exists()


def test_a_change_of_a_component_the_public_does_not_see_sends_nothing(webhook_receiver, deliver):
    hook(webhook_receiver, "/status-hook")
    billing = component("Billing")
    # Made private by a bulk write (no signal): its component stays, hidden, and still moves.
    Service.objects.filter(pk=billing.service_id).update(public=False)
    affect(billing)

    [move] = states_recompute()
    deliver()

    assert (move.code, move.new) == (billing.code, ComponentState.PARTIAL_OUTAGE)
    webhook_receiver.assert_nothing_sent()
    assert not SubscriberNotification.objects.exists()


def test_a_change_queued_before_its_component_was_hidden_is_not_sent(webhook_receiver, deliver):
    hook(webhook_receiver, "/status-hook")
    billing = component("Billing")
    affect(billing)
    states_recompute()
    Service.objects.filter(pk=billing.service_id).update(public=False)

    deliver()

    webhook_receiver.assert_nothing_sent()
    row = SubscriberNotification.objects.get()
    assert row.state == DeliveryState.FAILED
    assert row.last_error == "Not sent: the component was taken off the public page."


def test_a_recompute_that_moves_nothing_queues_nothing_more(webhook_receiver, deliver):
    hook(webhook_receiver, "/status-hook")
    affect(component("API"))
    states_recompute()
    deliver()

    assert states_recompute() == []
    deliver()

    assert len(webhook_receiver.requests) == 1
    assert SubscriberNotification.objects.count() == 1


def test_publishing_an_update_tells_webhooks_of_the_incident_and_of_the_component(
    webhook_receiver, smtp_stub, api, commander, events_run, deliver
):
    hook(webhook_receiver, "/status-hook")
    email_subscriber("pat@example.com")
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api], severity_name="SEV2")
        post_public(incident, commander, "Payments fail for some customers.")

    deliver()

    posted = {event_of(r): r.json() for r in webhook_receiver.requests}
    assert set(posted) == {"incident", "component_update"}
    assert posted["component_update"]["component"]["name"] == "API"
    assert posted["component_update"]["component_update"]["new_status"] == "partial_outage"
    # The email subscriber hears of the incident only.
    [mail] = smtp_stub.messages
    assert mail.rcpt_tos == ["pat@example.com"]


def test_a_later_change_waits_for_an_earlier_one_backing_off(webhook_receiver, clock, deliver):
    hook(webhook_receiver, "/status-hook")
    api = component("API")
    incident = affect(api)
    webhook_receiver.respond_with(503)
    states_recompute()
    deliver()
    assert SubscriberNotification.objects.get().state == DeliveryState.PENDING

    clock.advance(seconds=5)
    resolve(incident)
    states_recompute()
    deliver()
    # Only the first was tried: the second waits behind it.
    assert len(webhook_receiver.requests) == 1

    clock.advance(minutes=5)
    deliver()
    deliver()

    moves = [
        (body["component_update"]["old_status"], body["component_update"]["new_status"])
        for body in (r.json() for r in webhook_receiver.requests)
    ]
    assert moves == [
        ("operational", "partial_outage"),
        ("operational", "partial_outage"),
        ("partial_outage", "operational"),
    ]
    assert set(SubscriberNotification.objects.values_list("state", flat=True)) == {
        DeliveryState.SENT
    }


def test_a_change_of_another_component_is_not_held_back(webhook_receiver, clock, deliver):
    hook(webhook_receiver, "/status-hook")
    api, web = component("API"), component("Website")
    webhook_receiver.respond_with(503)
    affect(api)
    states_recompute()
    deliver()

    clock.advance(seconds=5)
    affect(web)
    states_recompute()
    deliver()

    assert [r.json()["component"]["id"] for r in webhook_receiver.requests] == [
        api.code,
        web.code,
    ]


def _at_once(work: Any, times: int = 2) -> None:
    """`work` in `times` threads released together, each on its own connection."""
    start = threading.Barrier(times)

    def run() -> None:
        try:
            start.wait()
            work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_recomputes_fan_outs_and_workers_at_once_post_each_change_once(webhook_receiver):
    api, web = component("API"), component("Website")
    hooks = [hook(webhook_receiver, f"/hook-{n}") for n in range(3)]
    hook(webhook_receiver, "/web", components=[web])
    affect(api)

    _at_once(states_recompute)
    change = open_change(api)
    # A second fan-out of the same change (a rerun, another caller) adds nothing.
    _at_once(lambda: services.notify_component_changes(component_ids=[api.pk]))
    handed: list[list[int]] = []
    delivery.deliver_due(enqueue=handed.extend)
    ids = [pk for batch in handed for pk in batch]
    _at_once(lambda: delivery.deliver_batch(ids))

    assert ComponentStateChange.objects.filter(component=api).count() == 2
    assert Counter(r.path for r in webhook_receiver.requests) == Counter(
        {f"/hook-{n}": 1 for n in range(3)}
    )
    assert set(SubscriberNotification.objects.values_list("event_key", flat=True)) == {
        f"component:{change.pk}"
    }
    assert Counter(SubscriberNotification.objects.values_list("state", flat=True)) == Counter(
        {DeliveryState.SENT: len(hooks)}
    )
