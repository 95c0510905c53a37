"""Only signed, fresh requests from Slack are taken, on every endpoint; others change nothing."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.test import Client

from chatops.interactions import PAGE_ACK
from chatops.models import InboundRequest
from incidents.models import Status
from tests.chatops import slack_requests as sr
from tests.chatops.slack_requests import OMIT, SlackRequest, post_signed
from tests.factories import declare

pytestmark = pytest.mark.django_db

SIX_MINUTES = 6 * 60


def command() -> SlackRequest:
    return sr.slash_command("ack", user_id="U0ROSA", channel_id="C0INC")


def click() -> SlackRequest:
    return sr.block_action(PAGE_ACK, "1", user_id="U0ROSA", channel_id="D0DM", message_ts="1.2")


def event() -> SlackRequest:
    pin = sr.pin_added(
        channel_id="C0INC", user_id="U0ROSA", message_ts="1.2", message_user="U0ROSA", text="hi"
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
    pytest.param({"timestamp": int(time.time()) - SIX_MINUTES}, id="six-minutes-old"),
    pytest.param({"timestamp": int(time.time()) + SIX_MINUTES}, id="future-dated"),
    pytest.param({"timestamp": "yesterday"}, id="timestamp-not-a-number"),
]


@pytest.mark.parametrize(("path", "build"), ENDPOINTS)
@pytest.mark.parametrize("how", REFUSALS)
def test_a_request_not_signed_by_slack_is_refused_logged_and_changes_nothing(
    client: Client, slack_signing_secret: str, caplog: pytest.LogCaptureFixture, path, build, how
):
    incident = declare()
    request = build()
    options = {"secret": slack_signing_secret, **how}
    with caplog.at_level(logging.WARNING, logger="chatops.verification"):
        response = post_signed(client, path, *request, **options)

    assert response.status_code == 401
    assert any(path in record.getMessage() for record in caplog.records)
    assert not InboundRequest.objects.exists()
    incident.refresh_from_db()
    assert incident.status == Status.DETECTED


def test_without_a_signing_secret_every_request_is_refused(client: Client, settings, caplog):
    settings.SLACK_SIGNING_SECRET = ""
    with caplog.at_level(logging.WARNING, logger="chatops.verification"):
        response = post_signed(client, "/slack/events", *event(), secret="")

    assert response.status_code == 401
    assert "no signing secret configured" in caplog.text
    assert not InboundRequest.objects.exists()


@pytest.mark.parametrize(("path", "build"), ENDPOINTS)
def test_a_request_signed_by_slack_is_taken(client: Client, slack_signing_secret, path, build):
    response = post_signed(client, path, *build(), secret=slack_signing_secret)

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
