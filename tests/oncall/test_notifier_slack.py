"""Slack DM pages through slack-sdk's WebClient, against a local server speaking Slack's Web API."""

from dataclasses import replace

import pytest

from oncall.models import ContactKind
from oncall.notifiers import NotifierError, Page, notifier_for
from oncall.notifiers.slack import page_blocks
from tests.oncall.factories import database_down_page

PAGE = database_down_page(ContactKind.SLACK, "U024BE7LH")


def send(page: Page = PAGE) -> str:
    return notifier_for("slack").notify(page)


def test_slack_opens_a_dm_posts_into_it_and_returns_the_ts(slack_stub):
    ts = send()

    opened, posted = slack_stub.calls
    assert (opened.method, opened.params) == ("conversations.open", {"users": "U024BE7LH"})
    assert posted.method == "chat.postMessage"
    assert slack_stub.channels[posted.params["channel"]] == "U024BE7LH"  # the DM just opened
    assert posted.params["text"] == "[SEV1] INC-42 Database down"
    assert posted.params["blocks"] == page_blocks(PAGE)
    [message] = slack_stub.messages_to("U024BE7LH")
    assert message is posted.params
    assert ts == "1700000001.000001"


def test_slack_authenticates_with_the_bot_token(slack_stub):
    send()

    assert {call.headers["authorization"] for call in slack_stub.calls} == {
        f"Bearer {slack_stub.token}"
    }


def test_slack_page_has_an_acknowledge_button_and_a_link_to_the_incident():
    section, actions = page_blocks(PAGE)

    assert section["text"]["text"] == (
        "*[SEV1] INC-42 Database down*\nPrimary database is not accepting connections."
    )
    acknowledge, open_incident = actions["elements"]
    assert acknowledge["action_id"] == "incident_ack"
    assert acknowledge["value"] == "42"
    assert acknowledge["text"]["text"] == "Acknowledge"
    assert open_incident["url"] == "https://tocsin.example/incidents/42/"


def test_slack_test_message_has_no_acknowledge_button():
    blocks = page_blocks(replace(PAGE, ack_url=""))

    [button] = blocks[1]["elements"]
    assert button["action_id"] != "incident_ack"


def test_slack_escapes_mrkdwn_control_characters():
    [section, _] = page_blocks(replace(PAGE, text="p99 > 2s & <!channel>"))

    assert section["text"]["text"].endswith("p99 &gt; 2s &amp; &lt;!channel&gt;")


def test_slack_long_text_fits_in_a_section_without_a_broken_entity():
    [section, _] = page_blocks(replace(PAGE, text="&" * 5000))

    text = section["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("&amp;…")


@pytest.mark.parametrize(
    ("error", "misconfigured"),
    [
        ("user_not_found", False),
        ("account_inactive", False),
        ("user_disabled", False),
        ("cannot_dm_bot", False),
        ("channel_not_found", False),
        ("invalid_auth", True),
        ("not_authed", True),
    ],
)
def test_slack_unreachable_user_or_bad_token_is_permanent(slack_stub, error, misconfigured):
    slack_stub.fail_next(error)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    # A bad token is ours to fix, not the user's address: the engine must not disable it.
    assert raised.value.misconfigured is misconfigured
    assert error in raised.value.message
    assert slack_stub.messages_to("U024BE7LH") == []


def test_slack_wrong_bot_token_is_permanent(slack_stub, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-not-the-token"

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    assert "invalid_auth" in raised.value.message


def test_slack_without_a_bot_token_is_permanent_and_sends_nothing(slack_stub, settings):
    settings.SLACK_BOT_TOKEN = ""

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    assert raised.value.misconfigured is True
    slack_stub.assert_nothing_sent()


def test_slack_long_rate_limit_is_transient_with_retry_after(slack_stub):
    slack_stub.rate_limit_next(retry_after=30)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    assert raised.value.retry_after == 30
    assert len(slack_stub.calls) == 1  # handed back to the engine, not waited out


def test_slack_short_rate_limit_is_waited_out_once(slack_stub):
    slack_stub.rate_limit_next(retry_after=0, method="chat.postMessage")

    send()

    assert [call.method for call in slack_stub.calls] == [
        "conversations.open",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert len(slack_stub.messages_to("U024BE7LH")) == 1


def test_slack_other_api_error_is_transient(slack_stub):
    slack_stub.fail_next("internal_error", method="chat.postMessage")

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    assert "internal_error" in raised.value.message


def test_slack_timeout_is_transient(slack_stub, settings):
    settings.NOTIFIER_TIMEOUT = 0.2
    slack_stub.stall_next(2)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False


def test_slack_refused_connection_is_transient(slack_stub, settings, unused_port):
    settings.SLACK_API_URL = f"http://127.0.0.1:{unused_port}/api/"

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    slack_stub.assert_nothing_sent()
