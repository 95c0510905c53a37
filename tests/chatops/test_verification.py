"""Only signed, fresh requests from Slack are taken, on every endpoint; others change nothing."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.http import HttpResponse
from django.test import Client

from accounts.models import User
from chatops.interactions import PAGE_ACK
from chatops.models import InboundRequest, IncidentChannel, SlackCall
from incidents.models import Incident, Status
from tests.chatops import slack_requests as sr
from tests.chatops.commands_support import link
from tests.chatops.helpers import incident_channel
from tests.chatops.outbox_helpers import eager  # noqa: F401
from tests.chatops.slack_requests import OMIT, SlackRequest, post_signed
from tests.factories import declare
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db

SIX_MINUTES = 6 * 60


# Each request, were it taken, would change something: the command acknowledges the incident
# (its channel, by a linked responder), the click answers through its response_url (an outbox
# row), the pin records a timeline entry.
def command(channel_id: str, response_url: str) -> SlackRequest:
    return sr.slash_command(
        "ack", user_id="U0ROSA", channel_id=channel_id, response_url=response_url
    )


def click(channel_id: str, response_url: str) -> SlackRequest:
    return sr.block_action(
        PAGE_ACK,
        "1",
        user_id="U0ROSA",
        channel_id="D0DM",
        message_ts="1.2",
        response_url=response_url,
    )


def event(channel_id: str = "C0INC", response_url: str = "") -> SlackRequest:
    pin = sr.pin_added(
        channel_id=channel_id, user_id="U0ROSA", message_ts="1.2", message_user="U0ROSA", text="hi"
    )
    return sr.event_callback(pin)


ENDPOINTS = [
    pytest.param("/slack/commands", command, id="commands"),
    pytest.param("/slack/interactions", click, id="interactions"),
    pytest.param("/slack/events", event, id="events"),
]

REFUSALS = [
    pytest.param({"signature": "v0=" + "0" * 64}, id="forged"),
    pytest.param({"secret": "not-our-secret"}, id="signed-with-another-secret"),
    pytest.param({"signature": OMIT, "timestamp": OMIT}, id="unsigned"),
    pytest.param({"signature": OMIT}, id="no-signature"),
    # Offsets from the time the test runs (not when the module was collected: a long suite
    # would bring a "future" timestamp back inside the window).
    pytest.param({"timestamp_offset": -SIX_MINUTES}, id="six-minutes-old"),
    pytest.param({"timestamp_offset": SIX_MINUTES}, id="future-dated"),
    pytest.param({"timestamp": "yesterday"}, id="timestamp-not-a-number"),
]


@pytest.fixture
def incident(responder: User, slack_stub: SlackStub) -> Incident:
    """An incident with its channel, and U0ROSA a linked responder in it."""
    link(responder, "U0ROSA")
    incident = declare()
    incident_channel(slack_stub, incident)
    return incident


def send(client: Client, capture, path: str, request: SlackRequest, **options) -> HttpResponse:
    """Post it, then run what a taken request would set going (the task that processes it,
    the outbox rows that task adds), as the worker would."""
    with capture(execute=True):
        response = post_signed(client, path, *request, **options)
    return response


def what_changed(incident: Incident, timeline_before: int) -> dict[str, object]:
    incident.refresh_from_db()
    return {
        "status": incident.status,
        "timeline": incident.timeline.count() - timeline_before,
        "slack_calls": SlackCall.objects.count(),
        "inbound": InboundRequest.objects.count(),
    }


NOTHING = {"status": Status.DETECTED, "timeline": 0, "slack_calls": 0, "inbound": 0}


@pytest.mark.usefixtures("eager")
@pytest.mark.parametrize(("path", "build"), ENDPOINTS)
@pytest.mark.parametrize("how", REFUSALS)
def test_a_request_not_signed_by_slack_is_refused_logged_and_changes_nothing(
    client: Client,
    slack_signing_secret: str,
    slack_stub: SlackStub,
    incident: Incident,
    django_capture_on_commit_callbacks,
    caplog: pytest.LogCaptureFixture,
    path,
    build,
    how,
):
    before = incident.timeline.count()
    request = build(IncidentChannel.objects.get().channel_id, slack_stub.response_url("answer"))
    options = {"secret": slack_signing_secret, **how}
    if "timestamp_offset" in options:
        options["timestamp"] = int(time.time()) + options.pop("timestamp_offset")
    with caplog.at_level(logging.WARNING, logger="chatops.verification"):
        response = send(client, django_capture_on_commit_callbacks, path, request, **options)

    assert response.status_code == 401
    assert any(path in record.getMessage() for record in caplog.records)
    assert what_changed(incident, before) == NOTHING
    assert slack_stub.calls == []
    assert slack_stub.responses_at("answer") == []


@pytest.mark.usefixtures("eager")
@pytest.mark.parametrize(("path", "build"), ENDPOINTS)
def test_the_same_request_signed_by_slack_changes_something(
    client: Client,
    slack_signing_secret: str,
    slack_stub: SlackStub,
    incident: Incident,
    django_capture_on_commit_callbacks,
    path,
    build,
):
    """The counterpart of the test above: what it posts would have acted, had it been signed."""
    before = incident.timeline.count()
    slack_stub.post_as_user(IncidentChannel.objects.get().channel_id, "U0ROSA", "hi", ts="1.2")
    request = build(IncidentChannel.objects.get().channel_id, slack_stub.response_url("answer"))

    response = send(
        client, django_capture_on_commit_callbacks, path, request, secret=slack_signing_secret
    )

    assert response.status_code == 200
    changed = what_changed(incident, before)
    assert changed["inbound"] == 1
    # More than the stored row: the work it set going ran.
    assert changed["timeline"] or changed["slack_calls"]


def test_without_a_signing_secret_every_request_is_refused(client: Client, settings, caplog):
    settings.SLACK_SIGNING_SECRET = ""
    with caplog.at_level(logging.WARNING, logger="chatops.verification"):
        response = post_signed(client, "/slack/events", *event(), secret="")

    assert response.status_code == 401
    assert "no signing secret configured" in caplog.text
    assert not InboundRequest.objects.exists()


@pytest.mark.parametrize(("path", "build"), ENDPOINTS)
def test_a_request_signed_by_slack_is_taken(client: Client, slack_signing_secret, path, build):
    request = build("C0INC", "https://hooks.slack.com/commands/T0/1/x")
    response = post_signed(client, path, *request, secret=slack_signing_secret)

    assert response.status_code == 200
    assert InboundRequest.objects.count() == 1


def test_a_signed_request_whose_body_was_changed_is_refused(client: Client, slack_signing_secret):
    original = event()
    signature = sr.sign(slack_signing_secret, int(time.time()), original.body)
    tampered = original.body.replace('"hi"', '"transfer the money"')

    response = post_signed(
        client, "/slack/events", tampered, sr.JSON, secret=slack_signing_secret, signature=signature
    )

    assert response.status_code == 401
    assert not InboundRequest.objects.exists()


def test_url_verification_is_answered_with_its_challenge(client: Client, slack_signing_secret):
    response = post_signed(
        client, "/slack/events", *sr.url_verification("3eZbrw1aB"), secret=slack_signing_secret
    )

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aB"}
    assert not InboundRequest.objects.exists()


def test_url_verification_unsigned_is_refused(client: Client, slack_signing_secret):
    response = post_signed(
        client,
        "/slack/events",
        *sr.url_verification("3eZbrw1aB"),
        secret=slack_signing_secret,
        signature=OMIT,
    )

    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="malformed"),
        pytest.param(json.dumps(["a", "list"]), id="not-an-object"),
        pytest.param(json.dumps({"type": "event_callback", "event": {}}), id="no-event-id"),
    ],
)
def test_a_signed_event_that_is_not_an_event_gets_400(client: Client, slack_signing_secret, body):
    response = post_signed(client, "/slack/events", body, sr.JSON, secret=slack_signing_secret)

    assert response.status_code == 400
    assert not InboundRequest.objects.exists()


def test_a_signed_interaction_with_a_malformed_payload_gets_400(
    client: Client, slack_signing_secret
):
    body = "payload=%7Bnot+json"
    response = post_signed(
        client, "/slack/interactions", body, sr.FORM, secret=slack_signing_secret
    )

    assert response.status_code == 400
    assert not InboundRequest.objects.exists()


def test_a_get_is_not_taken(client: Client, slack_signing_secret):
    assert client.get("/slack/events").status_code == 405
