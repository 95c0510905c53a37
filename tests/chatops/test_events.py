"""Events exactly once: stored by event_id, retries dropped, failures and dead workers retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from chatops.models import InboundRequest
from chatops.services.inbound import PROCESSING_LEASE, inbound_process, inbound_rescue
from incidents.models import EventKind, TimelineEvent
from tests.chatops import slack_requests as sr
from tests.chatops.commands_support import link
from tests.chatops.helpers import incident_channel, process_stored
from tests.chatops.slack_requests import post_signed
from tests.clock import Clock
from tests.factories import declare
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cole(responder) -> None:
    """U0COLE pins below: a responder, linked, so the pin counts (chatops.pins)."""
    link(responder, "U0COLE")


def pinned_event(stub: SlackStub, channel_id: str) -> sr.SlackRequest:
    ts = stub.post_as_user(channel_id, "U0ROSA", "Rolled back the deploy")
    pin = sr.pin_added(
        channel_id=channel_id,
        user_id="U0COLE",
        message_ts=ts,
        message_user="U0ROSA",
        text="Rolled back the deploy",
    )
    return sr.event_callback(pin, event_id="Ev0PIN0001")


def slack_entries(incident) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(incident=incident, kind=EventKind.SLACK))


def test_the_same_event_delivered_three_times_makes_one_entry(
    client: Client, slack_stub: SlackStub, slack_signing_secret, django_capture_on_commit_callbacks
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))

    answers = []
    for retry in (None, "1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        with django_capture_on_commit_callbacks(execute=False):
            response = post_signed(
                client,
                "/slack/events",
                *request,
                secret=slack_signing_secret,
                headers=headers if retry else None,
            )
        answers.append(response.status_code)
        process_stored()

    assert answers == [200, 200, 200]
    row = InboundRequest.objects.get()
    assert row.key == "event:Ev0PIN0001"
    assert row.retries == 2
    assert row.processed_at is not None
    assert len(slack_entries(incident)) == 1


def test_a_retry_arriving_before_processing_is_still_one_entry(
    client: Client, slack_stub: SlackStub, slack_signing_secret, django_capture_on_commit_callbacks
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        for _ in range(3):
            post_signed(client, "/slack/events", *request, secret=slack_signing_secret)

    # Only the first delivery hands work to a worker.
    assert len(enqueued) == 1
    assert process_stored() == ["processed"]
    assert len(slack_entries(incident)) == 1


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            {"type": "member_joined_channel", "user": "U0ROSA", "channel": "C0INC"},
            id="member_joined_channel",
        ),
        pytest.param({"type": "message", "user": "U0ROSA", "text": "hi"}, id="message"),
        pytest.param({"user": "U0ROSA"}, id="no-type"),
    ],
)
def test_an_event_nothing_handles_is_acknowledged_and_not_stored(
    client: Client, slack_signing_secret, django_capture_on_commit_callbacks, event
):
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        response = post_signed(
            client, "/slack/events", *sr.event_callback(event), secret=slack_signing_secret
        )

    assert response.status_code == 200
    assert not InboundRequest.objects.exists()
    assert enqueued == []


def test_processing_twice_does_nothing_the_second_time(
    client: Client, slack_stub: SlackStub, slack_signing_secret, django_capture_on_commit_callbacks
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, "/slack/events", *request, secret=slack_signing_secret)
    row = InboundRequest.objects.get()

    assert inbound_process(inbound_id=row.pk) == "processed"
    assert inbound_process(inbound_id=row.pk) == "skipped"
    assert len(slack_entries(incident)) == 1


def test_a_failed_processing_is_left_for_the_rescue_and_succeeds_later(
    client: Client,
    slack_stub: SlackStub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
    clock: Clock,
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, "/slack/events", *request, secret=slack_signing_secret)
    row = InboundRequest.objects.get()
    slack_stub.fail_next("internal_error", method="chat.getPermalink")

    assert inbound_process(inbound_id=row.pk) == "retry"
    row.refresh_from_db()
    assert row.processed_at is None
    assert row.claimed_at is None
    assert "internal_error" in row.error
    assert slack_entries(incident) == []

    handed_out: list[int] = []
    clock.advance(seconds=5)
    assert inbound_rescue(enqueue=handed_out.extend) == []
    clock.advance(minutes=1)
    assert inbound_rescue(enqueue=handed_out.extend) == [row.pk]

    assert inbound_process(inbound_id=row.pk) == "processed"
    assert len(slack_entries(incident)) == 1
    row.refresh_from_db()
    assert row.attempts == 2


def test_a_request_whose_task_was_lost_is_handed_out_again(
    client: Client,
    slack_stub: SlackStub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
    clock: Clock,
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))
    # The task never reaches a worker (Redis restarted).
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, "/slack/events", *request, secret=slack_signing_secret)
    row = InboundRequest.objects.get()

    assert inbound_rescue(enqueue=list) == []
    clock.advance(minutes=1)
    handed_out: list[int] = []
    assert inbound_rescue(enqueue=handed_out.extend) == [row.pk]
    assert handed_out == [row.pk]


def test_a_worker_killed_mid_processing_is_replaced_after_the_lease(
    client: Client,
    slack_stub: SlackStub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
    clock: Clock,
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, "/slack/events", *request, secret=slack_signing_secret)
    row = InboundRequest.objects.get()
    # What a worker killed after claiming leaves behind: claimed, never finished.
    InboundRequest.objects.filter(pk=row.pk).update(claimed_at=clock.now, attempts=1)

    clock.advance(seconds=PROCESSING_LEASE.total_seconds() - 1)
    assert inbound_process(inbound_id=row.pk) == "skipped"
    assert inbound_rescue(enqueue=list) == []

    clock.advance(seconds=2)
    handed_out: list[int] = []
    assert inbound_rescue(enqueue=handed_out.extend) == [row.pk]
    assert inbound_process(inbound_id=row.pk) == "processed"
    assert len(slack_entries(incident)) == 1


def test_a_request_that_keeps_failing_is_given_up_after_five_attempts(
    client: Client,
    slack_stub: SlackStub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
    clock: Clock,
):
    incident = declare()
    request = pinned_event(slack_stub, incident_channel(slack_stub, incident))
    with django_capture_on_commit_callbacks(execute=False):
        post_signed(client, "/slack/events", *request, secret=slack_signing_secret)
    row = InboundRequest.objects.get()
    slack_stub.fail_next("internal_error", method="chat.getPermalink", times=5)

    results = []
    for _ in range(5):
        results.append(inbound_process(inbound_id=row.pk))
        clock.advance(hours=1)
        inbound_rescue(enqueue=list)

    assert results == ["retry"] * 4 + ["failed"]
    row.refresh_from_db()
    assert row.processed_at is not None
    assert inbound_rescue(enqueue=list, now=clock.now + timedelta(days=1)) == []
