"""The Acknowledge button of the Slack DM page."""

from __future__ import annotations

import zlib

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from chatops.interactions import PAGE_ACK
from chatops.models import SlackCall, SlackUserLink
from incidents.models import EventKind, Source, Status
from oncall.models import ContactKind, Notification, NotificationState
from oncall.services import escalations
from tests.chatops import slack_requests as sr
from tests.chatops.helpers import process_stored, send_outbox
from tests.chatops.slack_requests import post_signed
from tests.factories import declare
from tests.oncall.factories import pageable, policy
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db

ALICE_SLACK = "U0ALICE"
DM_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*INC-1 SEV2: Checkout is failing*"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": PAGE_ACK,
                "value": "1",
                "text": {"type": "plain_text", "text": "Acknowledge"},
            }
        ],
    },
]


def paged_by_slack(*, private: bool = False) -> Notification:
    person = pageable("alice", kind=ContactKind.SLACK, address=ALICE_SLACK)
    policy((5, [person]))
    incident = declare(severity_name="SEV2", private=private)
    escalation = escalations.escalation_start(incident=incident, now=incident.declared_at)
    assert escalation is not None
    escalations.escalation_advance(escalation_id=escalation.pk, now=incident.declared_at)
    Notification.objects.filter(incident=incident).update(
        state=NotificationState.SENT, sent_at=timezone.now()
    )
    return Notification.objects.get(incident=incident)


def link(user: User, slack_user_id: str = ALICE_SLACK) -> None:
    SlackUserLink.objects.create(
        user=user, slack_user_id=slack_user_id, source="hand", linked_at=timezone.now()
    )


@pytest.fixture
def click(
    client: Client,
    slack_stub: SlackStub,
    slack_signing_secret: str,
    django_capture_on_commit_callbacks,
):
    def click(notification_id: int | str, *, user_id: str = ALICE_SLACK) -> list[dict]:
        # The same page and user answer at the same response_url; the value may be anything.
        key = f"click-{zlib.crc32(str(notification_id).encode())}-{user_id}"
        request = sr.block_action(
            PAGE_ACK,
            str(notification_id),
            user_id=user_id,
            channel_id="D0ALICE",
            message_ts="1772355600.000200",
            response_url=slack_stub.response_url(key),
            message={
                "type": "message",
                "ts": "1772355600.000200",
                "text": "INC-1",
                "blocks": DM_BLOCKS,
            },
        )
        with django_capture_on_commit_callbacks(execute=False):
            response = post_signed(
                client, "/slack/interactions", *request, secret=slack_signing_secret
            )
        # Slack wants its answer within 3 s: the click is stored and answered at once.
        assert response.status_code == 200
        assert process_stored() == ["processed"]
        send_outbox(django_capture_on_commit_callbacks)
        return slack_stub.responses_at(key)

    return click


def test_a_linked_responder_acknowledges_from_the_dm(click):
    notification = paged_by_slack()
    link(notification.user)

    [answer] = click(notification.pk)

    incident = notification.incident
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    ack = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert ack.actor == notification.user
    assert ack.source == Source.SLACK
    assert answer["replace_original"] is True
    assert f"Acknowledged by {notification.user.display_name}" in str(answer["blocks"])
    # The buttons give way to who acknowledged; what the page said stays.
    assert not any(block["type"] == "actions" for block in answer["blocks"])
    assert answer["blocks"][0] == DM_BLOCKS[0]


def test_the_answer_is_an_outbox_row_of_kind_response(click):
    notification = paged_by_slack()
    link(notification.user)

    click(notification.pk)

    call = SlackCall.objects.get(kind="response")
    assert call.state == "sent"
    assert call.incident_id == notification.incident_id


def test_a_second_click_acknowledges_nothing_more(click):
    notification = paged_by_slack()
    link(notification.user)

    click(notification.pk)
    # A new click (a new action_ts), to the same response_url.
    first, answer = click(notification.pk)

    assert notification.incident.timeline.filter(kind=EventKind.ACKNOWLEDGED).count() == 1
    assert f"Acknowledged by {notification.user.display_name}" in str(first["blocks"])
    assert "Already acknowledged" in str(answer["blocks"])


def test_an_unlinked_slack_user_is_told_to_link_and_nothing_changes(click):
    notification = paged_by_slack()

    [answer] = click(notification.pk)

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert "not linked" in answer["text"]
    assert "/incident link" in answer["text"]  # how to link, from Slack itself


def test_a_viewer_may_not_acknowledge(click):
    notification = paged_by_slack()
    User.objects.filter(pk=notification.user_id).update(role=Role.VIEWER)
    link(notification.user)

    [answer] = click(notification.pk)

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED
    assert answer["response_type"] == "ephemeral"
    assert "may not respond" in answer["text"]


def test_an_unknown_page_says_so(click, responder):
    link(responder, "U0ROSA")

    [answer] = click(999999, user_id="U0ROSA")

    assert answer["response_type"] == "ephemeral"
    assert "no longer known" in answer["text"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("9223372036854775808", id="past-bigint"),
        pytest.param("9" * 40, id="forty-digits"),
        pytest.param("9" * 5000, id="too-long-for-int"),
        pytest.param("0", id="zero"),
        pytest.param("-1", id="negative"),
        pytest.param("²", id="unicode-digit"),
        pytest.param("1e3", id="not-a-number"),
    ],
)
def test_a_page_id_out_of_range_is_no_longer_known_at_the_first_attempt(click, responder, value):
    link(responder, "U0ROSA")

    # click() asserts the click was processed at once, not left to be retried.
    [answer] = click(value, user_id="U0ROSA")

    assert answer["response_type"] == "ephemeral"
    assert "no longer known" in answer["text"]


def test_a_private_incident_the_clicker_takes_no_part_in_is_not_known_to_them(click, responder):
    notification = paged_by_slack(private=True)
    link(responder, "U0ROSA")

    [answer] = click(notification.pk, user_id="U0ROSA")

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.DETECTED
    assert "no longer known" in answer["text"]
    assert notification.incident.ref not in answer["text"]


def test_the_name_of_who_acknowledged_is_escaped(click):
    notification = paged_by_slack()
    User.objects.filter(pk=notification.user_id).update(first_name="<!channel>", last_name="&Co")
    link(notification.user)

    [answer] = click(notification.pk)

    notification.user.refresh_from_db()
    assert "<!channel>" not in str(answer)
    assert "&lt;!channel&gt;" in answer["text"]
    assert "&lt;!channel&gt;" in str(answer["blocks"][-1])


def test_a_resolved_incident_is_not_acknowledged(click):
    from accounts.actors import SYSTEM
    from incidents.services import incident_resolve

    notification = paged_by_slack()
    link(notification.user)
    incident_resolve(incident=notification.incident, actor=SYSTEM)

    [answer] = click(notification.pk)

    notification.incident.refresh_from_db()
    assert notification.incident.status == Status.RESOLVED
    assert "nothing to acknowledge" in answer["text"]


def test_a_response_url_that_is_not_slacks_is_never_called(
    slack_stub: SlackStub, django_capture_on_commit_callbacks, webhook_receiver
):
    from chatops.services.responses import respond

    respond(webhook_receiver.url + "/steal", {"text": "hi"}, key="evil")
    sent = send_outbox(django_capture_on_commit_callbacks)

    assert sent == ["cancelled"]
    assert webhook_receiver.requests == []
