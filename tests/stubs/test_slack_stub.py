"""The Slack stub and the signed-request builders, proven through the real slack-sdk."""

import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from tests.chatops import slack_requests
from tests.stubs.slack import SlackStub

SAMPLE = Path("/work/shared/samples/slack/slash_command.request.json")


@pytest.fixture
def stub():
    with SlackStub() as stub:
        yield stub
    stub.assert_nothing_unexpected()


def client_for(stub: SlackStub, **kwargs) -> WebClient:
    return WebClient(token=stub.token, base_url=stub.api_url, timeout=2, **kwargs)


def post_json(url: str, document: dict) -> bytes:
    request = urllib.request.Request(  # noqa: S310 (a loopback stub)
        url, data=json.dumps(document).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
        return answer.read()


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


def test_auth_test_names_the_bot_and_its_scopes(stub):
    stub.scopes = ["chat:write", "channels:manage"]

    answer = client_for(stub).auth_test()

    assert answer["user_id"] == stub.bot_user_id
    assert answer["team_id"] == stub.team_id
    assert answer.headers["x-oauth-scopes"] == "chat:write,channels:manage"


def test_conversations_create_applies_slacks_naming_rule(stub):
    client = client_for(stub)

    assert error_of(lambda: client.conversations_create(name="Inc 42")) == "invalid_name_specials"
    assert error_of(lambda: client.conversations_create(name="x" * 81)) == "invalid_name_maxlength"
    assert error_of(lambda: client.conversations_create(name="")) == "invalid_name_required"
    created = client.conversations_create(name="inc-42_db", is_private=False)["channel"]

    assert created["id"].startswith("C")
    assert created["creator"] == stub.bot_user_id
    assert [c.name for c in stub.channels_created()] == ["inc-42_db"]
    assert stub.members_of(created["id"]) == [stub.bot_user_id]


def test_conversations_create_name_taken_even_by_an_archived_channel(stub):
    client = client_for(stub)
    channel = client.conversations_create(name="inc-1")["channel"]["id"]
    client.conversations_archive(channel=channel)

    assert error_of(lambda: client.conversations_create(name="inc-1")) == "name_taken"
    assert stub.is_archived(channel)
    assert error_of(lambda: client.conversations_archive(channel=channel)) == "already_archived"
    assert error_of(lambda: client.chat_postMessage(channel=channel, text="x")) == "is_archived"


def test_conversations_list_pages_with_a_cursor(stub):
    client = client_for(stub)
    for n in range(5):
        client.conversations_create(name=f"inc-{n}")

    names, cursor = [], None
    while True:
        page = client.conversations_list(limit=2, cursor=cursor, exclude_archived=True)
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert names == [f"inc-{n}" for n in range(5)]


def test_invite_topic_bookmark_and_join(stub):
    client = client_for(stub)
    stub.add_user("U0ALICE", "alice@example.com", real_name="Alice")
    channel = client.conversations_create(name="inc-7")["channel"]["id"]

    client.conversations_invite(channel=channel, users="U0ALICE")
    client.conversations_setTopic(channel=channel, topic="SEV1 checkout")
    client.bookmarks_add(channel_id=channel, title="Incident", type="link", link="https://x.test/")

    assert stub.members_of(channel) == [stub.bot_user_id, "U0ALICE"]
    assert error_of(lambda: client.conversations_invite(channel=channel, users="U0ALICE")) == (
        "already_in_channel"
    )
    assert error_of(lambda: client.conversations_invite(channel=channel, users="U0NOBODY")) == (
        "user_not_found"
    )
    assert error_of(
        lambda: client.conversations_invite(channel=channel, users=stub.bot_user_id)
    ) == ("cant_invite_self")
    assert error_of(lambda: client.conversations_setTopic(channel=channel, topic="t" * 251)) == (
        "too_long"
    )
    assert stub.topic_of(channel) == "SEV1 checkout"
    assert [b["title"] for b in stub.bookmarks_of(channel)] == ["Incident"]
    team = stub.add_channel("team-payments")
    client.conversations_join(channel=team)
    assert stub.bot_user_id in stub.members_of(team)


def test_users_by_email_and_id(stub):
    client = client_for(stub)
    stub.add_user("U0ALICE", "alice@example.com", real_name="Alice Liddell")

    assert client.users_lookupByEmail(email="alice@example.com")["user"]["id"] == "U0ALICE"
    assert client.users_info(user="U0ALICE")["user"]["real_name"] == "Alice Liddell"
    assert error_of(lambda: client.users_lookupByEmail(email="bob@example.com")) == (
        "users_not_found"
    )
    assert error_of(lambda: client.users_info(user="U0BOB")) == "user_not_found"


def test_chat_update_keeps_every_edit_and_history_is_newest_first(stub):
    client = client_for(stub)
    channel = stub.add_channel("announcements")
    human = stub.post_as_user(channel, "U0ALICE", "hello")
    ts = client.chat_postMessage(channel=channel, text="v1")["ts"]

    client.chat_update(channel=channel, ts=ts, text="v2")
    client.chat_update(channel=channel, ts=ts, text="v3", blocks=[{"type": "divider"}])

    assert [e["text"] for e in stub.edits_of(channel, ts)] == ["v2", "v3"]
    assert [m.text for m in stub.messages_in(channel)] == ["hello", "v3"]
    assert stub.messages_in(channel)[1].blocks == [{"type": "divider"}]
    history = client.conversations_history(channel=channel)["messages"]
    assert [m["ts"] for m in history] == [ts, human]
    assert error_of(lambda: client.chat_update(channel=channel, ts=human, text="x")) == (
        "cant_update_message"
    )
    assert error_of(lambda: client.chat_update(channel=channel, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    permalink = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
    assert permalink == f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def test_views_open_then_update_and_scripted_expired_trigger(stub):
    client = client_for(stub)
    view = {"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "x"}}

    opened = client.views_open(trigger_id="1.2.abc", view=view)["view"]
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)["view"]
    stub.fail_next("expired_trigger_id", method="views.open")

    assert opened["id"].startswith("V")
    assert updated["id"] == opened["id"]
    assert error_of(lambda: client.views_open(trigger_id="1.2.abc", view=view)) == (
        "expired_trigger_id"
    )


def test_rate_limit_for_answers_429_with_retry_after_until_the_window_ends(stub):
    client = client_for(stub)
    stub.rate_limit_for("conversations.create", seconds=0.5, retry_after=5)

    with pytest.raises(SlackApiError) as raised:
        client.conversations_create(name="inc-1")
    other_methods_work = client.auth_test()["ok"]
    time.sleep(0.6)
    created = client.conversations_create(name="inc-1")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "5"
    assert other_methods_work
    assert created["ok"]


def test_go_down_refuses_connections_and_come_back_serves_again(stub):
    client = client_for(stub)
    url = stub.url

    stub.go_down()
    with pytest.raises(OSError):  # urllib's URLError: connection refused
        client.auth_test()
    stub.come_back()

    assert stub.url == url
    assert client.auth_test()["ok"]


def test_response_url_posts_are_recorded(stub):
    url = stub.response_url("cmd-1")
    answer = post_json(url, {"text": "Declared INC-1"})

    assert answer == b"ok"

    assert stub.responses == [{"text": "Declared INC-1"}]
    assert stub.responses_at("cmd-1") == [{"text": "Declared INC-1"}]


def test_runs_on_its_own_with_a_control_api():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stubs.slack", "--port", "0", "--token", "xoxb-bench"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        post_json(
            f"{url}/_stub/rate_limit_for",
            {"method": "conversations.create", "seconds": 60, "retry_after": 5},
        )
        client = WebClient(token="xoxb-bench", base_url=f"{url}/api/", timeout=2)
        client.chat_postMessage(
            channel=client.conversations_open(users="U0A")["channel"]["id"], text="x"
        )
        with pytest.raises(SlackApiError):
            client.conversations_create(name="inc-1")
        with urllib.request.urlopen(f"{url}/_stub/state", timeout=2) as answer:  # noqa: S310
            state = json.load(answer)
    finally:
        process.terminate()
        process.wait(timeout=5)

    assert state["call_counts"] == {
        "conversations.open": 1,
        "chat.postMessage": 1,
        "conversations.create": 1,
    }
    assert state["errors"] == [{"method": "conversations.create", "error": "ratelimited"}]


def test_signer_matches_slack_sdks_verifier():
    secret = "s3cret"
    request = slack_requests.slash_command("declare sev1 x", user_id="U0A", channel_id="C0A")
    timestamp = int(time.time())
    signature = slack_requests.sign(secret, timestamp, request.body)

    verifier = SignatureVerifier(secret)
    assert verifier.is_valid(request.body, timestamp, signature)
    assert not verifier.is_valid(request.body + "x", timestamp, signature)


def test_slash_command_matches_a_captured_slack_request_byte_for_byte():
    sample = json.loads(SAMPLE.read_text())
    fields = dict(slack_requests.SlackRequest(sample["body"], slack_requests.FORM).fields)

    built = slack_requests.slash_command(
        fields["text"],
        user_id=fields["user_id"],
        user_name=fields["user_name"],
        channel_id=fields["channel_id"],
        channel_name=fields["channel_name"],
        trigger_id=fields["trigger_id"],
        response_url=fields["response_url"],
    )
    timestamp = sample["headers"]["X-Slack-Request-Timestamp"]

    assert built.body == sample["body"]
    assert built.content_type == sample["headers"]["Content-Type"]
    assert (
        slack_requests.sign(sample["signing_secret_used"], timestamp, built.body)
        == (sample["headers"]["X-Slack-Signature"])
    )


def test_interactivity_and_events_carry_what_slack_sends():
    action = slack_requests.block_action(
        "incident_ack", "42", user_id="U0A", channel_id="C0A", message_ts="1.000001"
    )
    submitted = slack_requests.view_submission(
        "declare", {"title": {"input": "Checkout down"}}, user_id="U0A", private_metadata="{}"
    )
    pinned = slack_requests.event_callback(
        slack_requests.pin_added(
            channel_id="C0A", user_id="U0A", message_ts="1.000001", message_user="U0B", text="hi"
        ),
        event_id="Ev1",
    )

    assert action.payload["actions"][0]["action_id"] == "incident_ack"
    assert action.payload["container"]["message_ts"] == "1.000001"
    assert submitted.payload["view"]["state"]["values"]["title"]["input"]["value"] == (
        "Checkout down"
    )
    assert pinned.payload["event"]["item"]["message"]["ts"] == "1.000001"
    assert pinned.payload["event_id"] == "Ev1"


def test_private_channel_the_bot_left_refuses_posts_and_names_resolve(stub):
    client = client_for(stub)
    secret_room = stub.add_channel("security", is_private=True)
    announcements = stub.add_channel("announcements")

    posted = client.chat_postMessage(channel="#announcements", text="SEV1 declared")

    assert error_of(lambda: client.chat_postMessage(channel=secret_room, text="x")) == (
        "not_in_channel"
    )
    assert posted["channel"] == announcements
    assert [m.text for m in stub.messages_in(announcements)] == ["SEV1 declared"]


def test_a_stub_left_down_still_stops():
    stub = SlackStub().start()
    stub.go_down()

    stub.stop()  # returns: teardown of a test that ends mid-outage must not hang


@pytest.mark.django_db
def test_post_signed_sends_what_slack_sdks_verifier_accepts(client):
    secret = "s3cret"
    request = slack_requests.slash_command("help", user_id="U0A", channel_id="C0A")

    good = slack_requests.post_signed(client, "/slack/commands", *request, secret=secret)
    forged = slack_requests.post_signed(
        client, "/slack/commands", *request, secret=secret, signature="v0=00"
    )
    stale = slack_requests.post_signed(
        client, "/slack/commands", *request, secret=secret, timestamp=int(time.time()) - 600
    )
    unsigned = slack_requests.post_signed(
        client,
        "/slack/commands",
        *request,
        secret=secret,
        signature=slack_requests.OMIT,
        headers={"X-Slack-Retry-Num": "1"},
    )

    verifier = SignatureVerifier(secret)

    def valid(response) -> bool:
        sent = response.wsgi_request
        return verifier.is_valid_request(sent.body, dict(sent.headers))

    assert good.wsgi_request.body == request.body.encode()
    assert valid(good)
    assert not valid(forged)
    assert not valid(stale)
    assert not valid(unsigned)
    assert unsigned.wsgi_request.headers["X-Slack-Retry-Num"] == "1"


def test_calls_from_many_threads_each_get_their_own_channel(stub):
    client = client_for(stub)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: client.conversations_create(name=f"inc-{n}"), range(24)))

    assert len({answer["channel"]["id"] for answer in ids}) == 24
    assert len(stub.channels_created()) == 24


def test_invite_with_force_adds_the_valid_users_and_lists_the_rest(stub):
    client = client_for(stub)
    stub.add_user("U0ALICE", "alice@example.com")
    stub.add_user("U0BOB", "bob@example.com")
    channel = client.conversations_create(name="inc-9")["channel"]["id"]

    refused = error_of(lambda: client.conversations_invite(channel=channel, users="U0ALICE,U0X"))
    forced = client.conversations_invite(channel=channel, users="U0ALICE,U0X,U0BOB", force=True)

    assert refused == "user_not_found"
    assert forced["errors"] == [{"user": "U0X", "ok": False, "error": "user_not_found"}]
    assert stub.members_of(channel) == [stub.bot_user_id, "U0ALICE", "U0BOB"]
