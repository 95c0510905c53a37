"""Pins and 📌 reactions in an incident channel become highlighted timeline entries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from chatops.models import PinnedMessage, SlackUserLink
from incidents.models import EventKind, Source, TimelineEvent
from tests.chatops import slack_requests as sr
from tests.chatops.helpers import incident_channel, process_stored
from tests.chatops.slack_requests import post_signed
from tests.factories import UserFactory, declare
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db

MESSAGE_TS = "1772355600.000100"  # 2026-03-01 09:00:00.0001 UTC


@pytest.fixture
def deliver(client: Client, slack_signing_secret: str, django_capture_on_commit_callbacks):
    def deliver(event: dict[str, Any]) -> None:
        with django_capture_on_commit_callbacks(execute=False):
            response = post_signed(
                client, "/slack/events", *sr.event_callback(event), secret=slack_signing_secret
            )
        assert response.status_code == 200
        assert process_stored() == ["processed"]

    return deliver


def link(user: User, slack_user_id: str) -> User:
    SlackUserLink.objects.create(
        user=user, slack_user_id=slack_user_id, source="hand", linked_at=timezone.now()
    )
    return user


@pytest.fixture(autouse=True)
def cole(db: None) -> User:
    """U0COLE, who pins in most tests: a responder whose Slack account is linked."""
    return link(UserFactory(username="cole", role=Role.RESPONDER), "U0COLE")


@pytest.fixture
def incident():
    return declare()


@pytest.fixture
def channel(slack_stub: SlackStub, incident) -> str:
    return incident_channel(slack_stub, incident)


@pytest.fixture
def message_ts(slack_stub: SlackStub, channel: str) -> str:
    slack_stub.add_user("U0ROSA", "rosa@example.com", real_name="Rosa Slack", name="rosa.s")
    return slack_stub.post_as_user(channel, "U0ROSA", "Rolled back 4.2.1", ts=MESSAGE_TS)


def pin(channel: str, ts: str, *, by: str = "U0COLE") -> dict[str, Any]:
    return sr.pin_added(
        channel_id=channel,
        user_id=by,
        message_ts=ts,
        message_user="U0ROSA",
        text="Rolled back 4.2.1",
    )


def unpin(channel: str, ts: str, *, by: str = "U0COLE") -> dict[str, Any]:
    return sr.pin_removed(
        channel_id=channel,
        user_id=by,
        message_ts=ts,
        message_user="U0ROSA",
        text="Rolled back 4.2.1",
    )


def entries(incident) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(incident=incident, kind=EventKind.SLACK))


def test_a_pinned_message_becomes_a_highlighted_entry_at_its_own_time(
    deliver, incident, channel, message_ts, slack_stub: SlackStub
):
    deliver(pin(channel, message_ts))

    [entry] = entries(incident)
    assert entry.highlighted
    assert entry.source == Source.SLACK
    assert entry.occurred_at == datetime.fromtimestamp(float(MESSAGE_TS), tz=UTC)
    assert "Rolled back 4.2.1" in entry.message
    assert "Rosa Slack" in entry.message
    assert entry.actor is None
    assert entry.removed_at is None
    assert entry.data == {
        "channel": channel,
        "ts": MESSAGE_TS,
        "permalink": f"https://acme.slack.com/archives/{channel}/p{MESSAGE_TS.replace('.', '')}",
        "slack_user": "U0ROSA",
    }
    assert slack_stub.calls_to("chat.getPermalink") == [
        {"channel": channel, "message_ts": MESSAGE_TS}
    ]


def test_the_author_is_the_linked_tocsin_user(deliver, incident, channel, message_ts, responder):
    link(responder, "U0ROSA")

    deliver(pin(channel, message_ts))

    [entry] = entries(incident)
    assert entry.actor == responder
    assert entry.message.startswith(responder.display_name)


def test_a_pushpin_reaction_fetches_the_message_and_records_it(
    deliver, incident, channel, message_ts, slack_stub: SlackStub
):
    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts=message_ts))

    [entry] = entries(incident)
    assert "Rolled back 4.2.1" in entry.message
    assert entry.occurred_at == datetime.fromtimestamp(float(MESSAGE_TS), tz=UTC)
    [history] = slack_stub.calls_to("conversations.history")
    assert history["channel"] == channel
    assert history["latest"] == MESSAGE_TS
    assert history["limit"] in (1, "1")
    assert str(history["inclusive"]).lower() in ("1", "true")


def test_a_pushpin_on_a_thread_reply_reads_the_reply_from_its_thread(
    deliver, incident, channel, message_ts, slack_stub: SlackStub
):
    reply_ts = slack_stub.post_as_user(
        channel, "U0ROSA", "Error rate back under 1%", ts="1772355660.000100", thread_ts=message_ts
    )

    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts=reply_ts))

    [entry] = entries(incident)
    assert "Error rate back under 1%" in entry.message
    assert entry.occurred_at == datetime.fromtimestamp(float(reply_ts), tz=UTC)
    assert entry.data["ts"] == reply_ts
    [replies] = slack_stub.calls_to("conversations.replies")
    assert replies["channel"] == channel
    assert replies["ts"] == reply_ts
    assert replies["latest"] == reply_ts
    assert replies["limit"] in (1, "1")


def test_other_reactions_are_ignored(deliver, incident, channel, message_ts, slack_stub):
    deliver(
        sr.reaction_added(
            channel_id=channel, user_id="U0COLE", message_ts=message_ts, reaction="eyes"
        )
    )

    assert entries(incident) == []
    assert slack_stub.calls == []


def test_a_pin_and_pushpins_on_one_message_make_one_entry(
    deliver, incident, channel, message_ts, responder
):
    link(responder, "U0ROSA")
    deliver(pin(channel, message_ts))
    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts=message_ts))
    deliver(sr.reaction_added(channel_id=channel, user_id="U0ROSA", message_ts=message_ts))

    assert len(entries(incident)) == 1
    pinned = PinnedMessage.objects.get()
    assert sorted(pinned.held_by) == ["pin", "reaction:U0COLE", "reaction:U0ROSA"]


def test_unpinning_marks_the_entry_removed_and_pinning_again_restores_it(
    deliver, incident, channel, message_ts
):
    deliver(pin(channel, message_ts))
    deliver(unpin(channel, message_ts))

    [entry] = entries(incident)
    assert entry.removed_at is not None

    deliver(pin(channel, message_ts))

    [entry] = entries(incident)
    assert entry.removed_at is None


def test_removing_the_last_pushpin_removes_the_entry_but_not_before(
    deliver, incident, channel, message_ts, responder
):
    link(responder, "U0ROSA")
    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts=message_ts))
    deliver(sr.reaction_added(channel_id=channel, user_id="U0ROSA", message_ts=message_ts))
    deliver(sr.reaction_removed(channel_id=channel, user_id="U0COLE", message_ts=message_ts))

    assert entries(incident)[0].removed_at is None

    deliver(sr.reaction_removed(channel_id=channel, user_id="U0ROSA", message_ts=message_ts))

    assert entries(incident)[0].removed_at is not None


def test_removing_a_pushpin_from_a_pinned_message_keeps_the_entry(
    deliver, incident, channel, message_ts
):
    deliver(pin(channel, message_ts))
    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts=message_ts))
    deliver(sr.reaction_removed(channel_id=channel, user_id="U0COLE", message_ts=message_ts))

    assert entries(incident)[0].removed_at is None


@pytest.fixture(params=["unlinked", "viewer", "inactive"])
def bystander(request, viewer: User) -> str:
    """A Slack user in the channel whose pins do not count: no Tocsin account linked, or one
    that may not respond."""
    if request.param == "viewer":
        link(viewer, "U0GUEST")
    elif request.param == "inactive":
        link(UserFactory(username="gone", role=Role.RESPONDER, is_active=False), "U0GUEST")
    return "U0GUEST"


def test_a_pin_or_pushpin_by_someone_who_may_not_respond_is_ignored(
    deliver, incident, channel, message_ts, bystander, slack_stub: SlackStub, caplog
):
    with caplog.at_level(logging.INFO, logger="chatops.services.pins"):
        deliver(pin(channel, message_ts, by=bystander))
        deliver(sr.reaction_added(channel_id=channel, user_id=bystander, message_ts=message_ts))

    assert entries(incident) == []
    assert not PinnedMessage.objects.exists()
    assert slack_stub.calls == []
    assert caplog.text.count("ignored a pin by Slack user U0GUEST") == 2


def test_an_unpin_by_someone_who_may_not_respond_keeps_the_entry(
    deliver, incident, channel, message_ts, bystander
):
    deliver(pin(channel, message_ts))
    deliver(unpin(channel, message_ts, by=bystander))
    deliver(sr.reaction_removed(channel_id=channel, user_id=bystander, message_ts=message_ts))

    [entry] = entries(incident)
    assert entry.removed_at is None
    assert PinnedMessage.objects.get().held_by == ["pin"]


def test_an_unpin_by_another_responder_removes_the_entry(
    deliver, incident, channel, message_ts, responder
):
    link(responder, "U0ROSA")
    deliver(pin(channel, message_ts))
    deliver(unpin(channel, message_ts, by="U0ROSA"))

    assert entries(incident)[0].removed_at is not None


def test_pins_outside_incident_channels_are_ignored(deliver, slack_stub: SlackStub, incident):
    elsewhere = slack_stub.add_channel("random", bot_is_member=True)
    ts = slack_stub.post_as_user(elsewhere, "U0ROSA", "lunch?")

    deliver(pin(elsewhere, ts))
    deliver(sr.reaction_added(channel_id=elsewhere, user_id="U0COLE", message_ts=ts))

    assert not TimelineEvent.objects.filter(kind=EventKind.SLACK).exists()
    assert not PinnedMessage.objects.exists()
    assert slack_stub.calls == []


def test_our_own_pinned_announcement_is_recorded(deliver, incident, channel, slack_stub: SlackStub):
    from chatops.client import slack_client

    posted = slack_client().chat_postMessage(channel=channel, text="INC-1 is SEV2, investigating")
    event = sr.pin_added(
        channel_id=channel,
        user_id="U0COLE",
        message_ts=posted["ts"],
        message_user=slack_stub.bot_user_id,
        text="INC-1 is SEV2, investigating",
    )

    deliver(event)

    [entry] = entries(incident)
    assert "INC-1 is SEV2, investigating" in entry.message
    assert entry.actor is None


def test_a_message_deleted_before_we_read_it_is_skipped(deliver, incident, channel):
    deliver(sr.reaction_added(channel_id=channel, user_id="U0COLE", message_ts="1700000000.000001"))

    assert entries(incident) == []


def test_a_permalink_that_is_not_https_is_not_kept(
    deliver, incident, channel, message_ts, slack_stub: SlackStub
):
    slack_stub.add_route(
        "chat.getPermalink",
        lambda params: {"ok": True, "channel": channel, "permalink": "javascript:alert(1)"},
    )

    deliver(pin(channel, message_ts))

    assert entries(incident)[0].data["permalink"] == ""


def test_the_incident_page_links_to_slack_only_for_slack_entries_with_https_permalinks(
    client: Client, deliver, incident, channel, message_ts, cole
):
    from accounts.actors import SYSTEM
    from incidents.timeline import incident_record_event

    deliver(pin(channel, message_ts))
    for kind, permalink in [
        (EventKind.SLACK, "javascript:alert(1)"),
        (EventKind.SLACK, "http://acme.slack.com/archives/C0/p1"),
        (EventKind.NOTE, "https://evil.example/phish"),
    ]:
        incident_record_event(
            incident=incident,
            kind=kind,
            source=Source.SLACK,
            message="planted",
            actor=SYSTEM,
            data={"permalink": permalink},
        )
    client.force_login(cole)

    page = client.get(incident.get_absolute_url()).content.decode()

    permalink = entries(incident)[0].data["permalink"]
    assert page.count("View in Slack") == 1
    assert f'<a href="{permalink}" rel="noopener">View in Slack</a>' in page
    assert 'href="javascript:' not in page
    assert 'href="http://acme' not in page
    assert 'href="https://evil' not in page
