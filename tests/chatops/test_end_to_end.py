"""Slack end to end, without a browser: signed `/incident declare` → modal on the stub → signed
submission → incident → its channel on the stub → `/incident ack` in it → announcement edited
→ 📌 on a message there → a highlighted timeline entry. The test is the worker: it processes
the stored requests and sends the outbox rows as the tasks would."""

from __future__ import annotations

import pytest

from accounts.models import User
from chatops.modals import CALLBACK_ID
from chatops.models import Announcement, IncidentChannel
from chatops.services.announcements import EDIT_DELAY
from incidents.models import EventKind, Incident, Severity, Source, Status
from tests.chatops import slack_requests as sr
from tests.chatops.commands_support import command, link, run_tasks, said


@pytest.fixture
def rosa(responder: User, slack_stub) -> User:
    slack_stub.add_user("U0ROSA", "rosa@example.com", real_name="Rosa Responder")
    return link(responder, "U0ROSA")


def test_declare_ack_and_pin_from_slack(
    client, slack_signing_secret, slack_stub, rosa, clock, django_capture_on_commit_callbacks
):
    secret = slack_signing_secret
    with django_capture_on_commit_callbacks(execute=True):
        response = command(client, secret, "declare Checkout down", user_id="U0ROSA")
    assert response.status_code == 200
    [opened] = slack_stub.calls_to("views.open")
    view_id = next(iter(slack_stub.views))
    assert opened["view"]["callback_id"] == CALLBACK_ID

    sev2 = Severity.objects.get(name="SEV2")
    submission = sr.view_submission(
        CALLBACK_ID,
        {
            "title": {"value": "Checkout down"},
            "severity": {"value": sr.selected_option(str(sev2.pk), "SEV2")},
        },
        user_id="U0ROSA",
        view_id=view_id,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            sr.post_signed(client, "/slack/interactions", *submission, secret=secret).content == b""
        )
    # Declaring publishes IncidentDeclared on commit: the channel and announcement are queued.
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
    incident = Incident.objects.get()
    assert incident.source == Source.SLACK
    channel = IncidentChannel.objects.get(incident=incident)
    assert channel.channel_id
    assert slack_stub.channel_named(channel.name) is not None
    announcement = Announcement.objects.get(
        incident=incident, place=Announcement.Place.INCIDENT_CHANNEL
    )
    assert announcement.ts

    with django_capture_on_commit_callbacks(execute=True):
        answer = command(
            client,
            secret,
            "ack",
            user_id="U0ROSA",
            channel_id=channel.channel_id,
            response_url=slack_stub.response_url("ack"),
        )
    assert answer.json()["text"] == f"Acknowledging {incident.ref}…"
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
        # An edit waits a moment for more changes before it goes.
        clock.advance(seconds=EDIT_DELAY)
    assert Incident.objects.get().status == Status.ACKNOWLEDGED
    assert said(slack_stub, "ack") == [f"You acknowledged {incident.ref}."]
    edits = slack_stub.edits_of(channel.channel_id, announcement.ts)
    assert edits
    assert status_field(edits[-1]) == "Acknowledged"

    message_ts = slack_stub.post_as_user(channel.channel_id, "U0ROSA", "Rolled back 4.2.1")
    event = sr.event_callback(
        sr.reaction_added(channel_id=channel.channel_id, user_id="U0ROSA", message_ts=message_ts)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sr.post_signed(client, "/slack/events", *event, secret=secret).status_code == 200
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()
    [pinned] = incident.timeline.filter(kind=EventKind.SLACK)
    assert "Rolled back 4.2.1" in pinned.message
    assert pinned.highlighted


def status_field(message: dict) -> str:
    """The value of the announcement's Status field (its section's fields are `*Name*\nvalue`)."""
    for block in message["blocks"]:
        for field in block.get("fields", []):
            name, _, value = field["text"].partition("\n")
            if name == "*Status*":
                return value
    raise AssertionError("the announcement has no Status field")
