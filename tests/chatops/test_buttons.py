"""The announcement's buttons: the same checks as the commands, carried out in a task, the
clicker answered through the click's response_url."""

from __future__ import annotations

import pytest

from accounts.models import User
from chatops import interactions
from chatops.models import Announcement
from incidents.models import EventKind, Incident, Source, Status
from tests.chatops.commands_support import click, give_channel, link, run_tasks, said
from tests.factories import declare

TS = "1700000000.000100"


@pytest.fixture
def rosa(responder: User) -> User:
    return link(responder, "U0ROSA")


@pytest.fixture
def incident(rosa: User, slack_stub) -> Incident:
    incident = declare(rosa, title="Checkout is failing")
    channel_id = slack_stub.add_channel("inc-1-checkout", bot_is_member=True)
    give_channel(incident, channel_id)
    return incident


@pytest.fixture
def press(client, slack_signing_secret, slack_stub, incident):
    def press_button(action_id, *, value=None, user_id="U0ROSA", selected=None, block_id=None):
        key = f"click-{action_id}-{user_id}"
        response = click(
            client,
            slack_signing_secret,
            action_id,
            str(incident.number) if value is None else value,
            user_id=user_id,
            channel_id="C0ANNOUNCE",
            message_ts=TS,
            response_url=slack_stub.response_url(key),
            selected=selected,
            block_id=block_id or f"announcement:{incident.number}",
        )
        assert response.status_code == 200
        run_tasks()
        return said(slack_stub, key)

    return press_button


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def test_acknowledge(press, incident):
    assert press(interactions.ANNOUNCEMENT_ACK) == [f"You acknowledged {incident.ref}."]
    incident = fresh(incident)
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.timeline.get(kind=EventKind.ACKNOWLEDGED).source == Source.SLACK


def test_the_answer_leaves_the_announcement_in_place(press, slack_stub, incident):
    press(interactions.ANNOUNCEMENT_ACK)
    [body] = slack_stub.responses
    assert body["replace_original"] is False
    assert body["response_type"] == "ephemeral"


def test_resolve(press, incident):
    assert press(interactions.ANNOUNCEMENT_RESOLVE)[0].startswith(f"{incident.ref} is resolved.")
    assert fresh(incident).status == Status.RESOLVED


def test_resolve_of_a_resolved_incident_says_why(press, incident, commander):
    link(commander, "U0COLE")
    press(interactions.ANNOUNCEMENT_RESOLVE)
    assert press(interactions.ANNOUNCEMENT_RESOLVE, user_id="U0COLE") == [
        f"{incident.ref}: {incident.ref} cannot move from resolved to resolved."
    ]


def test_change_severity_from_the_menu(press, incident):
    assert press(interactions.ANNOUNCEMENT_SEVERITY, selected="SEV1") == [
        f"{incident.ref} is now SEV1."
    ]
    assert fresh(incident).severity.name == "SEV1"


def test_the_menu_finds_its_incident_from_the_announcement(press, incident):
    Announcement.objects.create(
        incident=incident, place=Announcement.Place.ANNOUNCEMENTS, channel_id="C0ANNOUNCE", ts=TS
    )
    answer = press(
        interactions.ANNOUNCEMENT_SEVERITY, value="", selected="sev3", block_id="actions"
    )
    assert answer == [f"{incident.ref} is now SEV3."]


def test_join_invites_the_clicker_into_the_incident_channel(press, slack_stub, incident):
    slack_stub.add_user("U0ROSA", "rosa@example.com")
    channel_id = slack_stub.channel_named("inc-1-checkout").id
    assert press(interactions.ANNOUNCEMENT_JOIN) == [f"Inviting you to <#{channel_id}>."]
    assert "U0ROSA" in slack_stub.members_of(channel_id)


def test_a_viewer_can_join_but_not_act(press, slack_stub, incident, viewer):
    link(viewer, "U0VIC")
    slack_stub.add_user("U0VIC", "vic@example.com")
    refused = press(interactions.ANNOUNCEMENT_ACK, user_id="U0VIC")
    assert refused[0].startswith("Your Tocsin role (Viewer) may not change incidents")
    assert fresh(incident).status == Status.DETECTED
    press(interactions.ANNOUNCEMENT_JOIN, user_id="U0VIC")
    assert "U0VIC" in slack_stub.members_of(slack_stub.channel_named("inc-1-checkout").id)


def test_an_unlinked_clicker_is_told_to_link_their_account(press, incident):
    [answer] = press(interactions.ANNOUNCEMENT_ACK, user_id="U0NOBODY")
    assert "Type `/incident link`" in answer
    assert fresh(incident).status == Status.DETECTED
