"""Slack as a messenger for accounts.messaging: an action-item reminder reaches its owner as
one Slack DM, through the outbox and the Slack stub."""

from datetime import date

import pytest

from accounts.actors import SYSTEM
from accounts.messaging import direct_message
from chatops.direct_messages import slack_direct_message
from chatops.models import SlackCall, SlackUserLink
from chatops.services import people
from postmortems.services.reminders import reminders_send_due
from tests.chatops.helpers import send_outbox
from tests.factories import UserFactory, declare
from tests.postmortems.action_items_support import at, item
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db

HAND = SlackUserLink.Source.HAND


@pytest.fixture(autouse=True)
def berlin(settings):
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    settings.BASE_URL = "https://tocsin.example.com"


@pytest.fixture
def owner(db):
    return UserFactory(username="olga", first_name="Olga", last_name="Owner")


def test_a_reminder_reaches_its_owner_as_one_slack_dm(
    slack_stub: SlackStub, commander, owner, django_capture_on_commit_callbacks
):
    people.slack_link_set(user=owner, slack_user_id="U0OLGA", source=HAND, actor=SYSTEM)
    overdue = item(
        declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner
    )

    # Two beats at nine, then a worker sends the outbox; a beat later that day adds nothing.
    reminders_send_due(now=at(date(2026, 3, 5)))
    reminders_send_due(now=at(date(2026, 3, 5)))
    send_outbox(django_capture_on_commit_callbacks)
    reminders_send_due(now=at(date(2026, 3, 5), 9, 5))
    send_outbox(django_capture_on_commit_callbacks)

    (message,) = slack_stub.messages_to("U0OLGA")
    assert message["text"] == (
        f"Action item overdue by 3 days: Add an alert on queue depth ({overdue.incident.ref}, "
        f"due Mon 2 Mar 2026). https://tocsin.example.com/action-items/{overdue.pk}/"
    )
    assert SlackCall.objects.get().key == f"dm:reminder:{overdue.pk}:2026-03-05"


def test_the_next_days_reminder_is_a_second_dm(
    slack_stub: SlackStub, commander, owner, django_capture_on_commit_callbacks
):
    people.slack_link_set(user=owner, slack_user_id="U0OLGA", source=HAND, actor=SYSTEM)
    item(declare(commander), commander, now=at(date(2026, 3, 1)), due=date(2026, 3, 2), owner=owner)

    reminders_send_due(now=at(date(2026, 3, 5)))
    reminders_send_due(now=at(date(2026, 3, 6)))
    send_outbox(django_capture_on_commit_callbacks)

    texts = [message["text"] for message in slack_stub.messages_to("U0OLGA")]
    assert [text.split(":")[0] for text in texts] == [
        "Action item overdue by 3 days",
        "Action item overdue by 4 days",
    ]


def test_a_person_without_a_slack_link_is_not_messaged(slack_stub: SlackStub, owner):
    assert slack_direct_message(owner, "Hello", "k1") is False
    assert direct_message(user=owner, text="Hello", key="k1") == []
    assert not SlackCall.objects.exists()


def test_without_slack_nothing_is_queued(settings, owner):
    settings.SLACK_BOT_TOKEN = ""
    people.slack_link_set(user=owner, slack_user_id="U0OLGA", source=HAND, actor=SYSTEM)

    assert direct_message(user=owner, text="Hello", key="k1") == []
    assert not SlackCall.objects.exists()


def test_a_dm_says_what_it_was_given_and_pings_nobody(
    slack_stub: SlackStub, owner, django_capture_on_commit_callbacks
):
    people.slack_link_set(user=owner, slack_user_id="U0OLGA", source=HAND, actor=SYSTEM)

    assert direct_message(user=owner, text="Fix <!channel> & co", key="k1") == ["slack"]
    assert direct_message(user=owner, text="Fix <!channel> & co", key="k1") == ["slack"]
    send_outbox(django_capture_on_commit_callbacks)

    (message,) = slack_stub.messages_to("U0OLGA")
    assert message["text"] == "Fix &lt;!channel&gt; &amp; co"
