"""The outbox sends each Slack call once, waits as Slack asks, backs off, and gives up in time.

Rows are sent by the real tasks (run eagerly) through the real WebClient against the Slack
stub; the tests assert on what the stub received and on the rows.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from chatops.models import CallState, SlackCall
from chatops.services import outbox
from chatops.services.outbox import NotReady
from tests.chatops.outbox_helpers import eager  # noqa: F401
from tests.chatops.outbox_senders import POST, post
from tests.stubs.slack import _Scripted
from tests.stubs.webhook import StubResponse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]


@pytest.fixture
def channel(slack_stub) -> str:
    return slack_stub.add_channel("general")


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run `work`, then what it left for after commit (dispatch, and the sends it enqueues)."""

    def run(work: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


def tick(run) -> None:
    """The beat's tick, as chatops.tasks.tick does it."""
    run(outbox.tick)


def texts(stub, channel: str) -> list[str]:
    return [message.text for message in stub.messages_in(channel)]


def row(key: str) -> SlackCall:
    return SlackCall.objects.get(key=key)


def add(run, channel: str, text: str = "hello", key: str = "notice:1", **kwargs: Any) -> None:
    run(
        lambda: outbox.call_add(
            kind=POST, key=key, payload={"channel": channel, "text": text}, **kwargs
        )
    )


def answer_next(stub, status: int, *, times: int = 1) -> None:
    # The stub has no helper for a 5xx; its scripted answers take any StubResponse.
    for _ in range(times):
        stub._scripted.append(
            _Scripted("chat.postMessage", StubResponse(status, {"ok": False, "error": "oops"}))
        )


def test_a_row_is_sent_once(run, slack_stub, channel):
    add(run, channel)
    tick(run)
    assert outbox.call_send(call_id=row("notice:1").pk) == "skipped"

    assert texts(slack_stub, channel) == ["hello"]
    call = row("notice:1")
    assert (call.state, call.sends, call.attempts) == (CallState.SENT, 1, 1)
    assert call.result == {"channel": channel, "ts": slack_stub.messages_in(channel)[0].ts}


def test_adding_the_same_key_twice_sends_once(run, slack_stub, channel):
    add(run, channel, "first")
    add(run, channel, "second")
    tick(run)

    assert texts(slack_stub, channel) == ["first"]
    assert SlackCall.objects.count() == 1


def test_refreshes_while_the_row_waits_collapse_into_one_send_of_the_latest(
    run, slack_stub, channel
):
    def burst() -> None:
        for text in ("v1", "v2", "v3"):
            outbox.call_refresh(
                kind=POST, key="topic:1", payload={"channel": channel, "text": text}
            )

    run(burst)
    tick(run)

    assert texts(slack_stub, channel) == ["v3"]
    call = row("topic:1")
    assert (call.state, call.sends, call.wanted, call.done) == (CallState.SENT, 1, 3, 3)


def test_a_refresh_while_the_row_is_being_sent_sends_once_more_with_the_latest(
    run, slack_stub, channel
):
    def refreshed_meanwhile(call: SlackCall, client: WebClient) -> dict[str, Any]:
        # Two changes land while this send is on its way to Slack.
        if call.sends == 0:
            for text in ("v2", "v3"):
                outbox.call_refresh(
                    kind="test.refreshed", key=call.key, payload={"channel": channel, "text": text}
                )
        return post(call, client)

    outbox.register_sender("test.refreshed", refreshed_meanwhile)
    run(
        lambda: outbox.call_refresh(
            kind="test.refreshed", key="topic:1", payload={"channel": channel, "text": "v1"}
        )
    )
    tick(run)

    assert texts(slack_stub, channel) == ["v1", "v3"]
    call = row("topic:1")
    assert (call.state, call.sends, call.wanted, call.done) == (CallState.SENT, 2, 3, 3)


def test_a_refresh_of_a_sent_row_sends_it_again(run, slack_stub, channel):
    refresh = lambda text: outbox.call_refresh(  # noqa: E731
        kind=POST, key="topic:1", payload={"channel": channel, "text": text}
    )
    run(lambda: refresh("v1"))
    run(lambda: refresh("v2"))

    assert texts(slack_stub, channel) == ["v1", "v2"]


def test_a_429_waits_as_long_as_slack_asks_and_is_no_attempt(run, slack_stub, channel, clock):
    slack_stub.rate_limit_next(30, method="chat.postMessage")
    add(run, channel)

    call = row("notice:1")
    assert call.state == CallState.PENDING
    assert call.due_at >= clock.now + timedelta(seconds=30)
    assert (call.attempts, call.rate_limits, call.failures) == (0, 1, 0)

    clock.advance(seconds=29)
    tick(run)
    assert texts(slack_stub, channel) == []
    clock.advance(seconds=2)
    tick(run)
    assert texts(slack_stub, channel) == ["hello"]
    assert row("notice:1").rate_limits == 1


def test_a_429_never_makes_a_row_give_up(run, slack_stub, channel, clock, settings):
    settings.SLACK_GIVE_UP_AFTER = 60
    slack_stub.go_down()
    add(run, channel)
    clock.advance(seconds=61)
    tick(run)
    assert row("notice:1").state == CallState.FAILED  # unreachable past the give-up age

    add(run, channel, key="notice:2")
    slack_stub.come_back()
    slack_stub.rate_limit_next(1, method="chat.postMessage")
    clock.advance(seconds=61)
    tick(run)

    assert row("notice:2").state == CallState.PENDING
    clock.advance(seconds=1)
    tick(run)
    assert row("notice:2").state == CallState.SENT


def test_ratelimited_on_one_channel_does_not_hold_up_the_others(run, slack_stub, clock):
    busy, quiet, other = (slack_stub.add_channel(name) for name in ("busy", "quiet", "other"))
    due = clock.now + timedelta(seconds=1)
    # Handed out in one dispatch; the busy channel's row goes first and meets the 429.
    add(run, busy, key="notice:busy", due_at=due)
    add(run, quiet, key="notice:quiet", due_at=due + timedelta(milliseconds=1))
    add(run, other, key="notice:other", due_at=due + timedelta(milliseconds=2))
    slack_stub.rate_limit_next(20, method="chat.postMessage")

    clock.advance(seconds=2)
    assert len(run(outbox.calls_dispatch_due)) == 3

    assert row("notice:busy").state == CallState.PENDING
    assert texts(slack_stub, quiet) == ["hello"]
    assert texts(slack_stub, other) == ["hello"]
    assert texts(slack_stub, busy) == []


def test_5xx_backs_off_exponentially(run, slack_stub, channel, clock):
    answer_next(slack_stub, 503, times=3)
    add(run, channel)
    waits = []
    for _ in range(3):
        call = row("notice:1")
        waits.append((call.due_at - clock.now).total_seconds())
        clock.advance(seconds=waits[-1])
        tick(run)

    assert waits == [2, 4, 8]
    call = row("notice:1")
    assert (call.state, call.failures, call.sends) == (CallState.SENT, 3, 1)
    assert texts(slack_stub, channel) == ["hello"]


def test_a_timeout_backs_off(run, slack_stub, channel, settings):
    settings.SLACK_TIMEOUT = 0.3
    slack_stub.stall_next(2)
    add(run, channel)

    call = row("notice:1")
    assert call.state == CallState.PENDING
    assert call.last_error.startswith("unreachable")
    assert (call.attempts, call.failures) == (1, 1)


def test_slack_unreachable_backs_off_and_catches_up(run, slack_stub, channel, clock):
    slack_stub.go_down()
    add(run, channel)
    clock.advance(seconds=2)
    tick(run)
    assert (row("notice:1").due_at - clock.now).total_seconds() == 4

    slack_stub.come_back()
    clock.advance(seconds=4)
    tick(run)
    assert texts(slack_stub, channel) == ["hello"]


def test_a_permanent_error_fails_at_once(run, slack_stub):
    add(run, "C0NOWHERE")

    call = row("notice:1")
    assert (call.state, call.attempts, call.failures) == (CallState.FAILED, 1, 1)
    assert call.last_error == "channel_not_found"


def test_a_row_older_than_the_give_up_age_fails(run, slack_stub, channel, clock, settings):
    settings.SLACK_GIVE_UP_AFTER = 3600
    slack_stub.go_down()
    add(run, channel)
    clock.advance(seconds=3599)
    tick(run)
    assert row("notice:1").state == CallState.PENDING

    clock.advance(minutes=5)
    tick(run)
    assert row("notice:1").state == CallState.FAILED


def test_a_row_due_later_starts_its_give_up_clock_when_due(
    run, slack_stub, channel, clock, settings
):
    settings.SLACK_GIVE_UP_AFTER = 3600
    add(run, channel, due_at=clock.now + timedelta(hours=2))
    slack_stub.go_down()
    clock.advance(hours=2)
    tick(run)

    assert row("notice:1").state == CallState.PENDING


def test_a_refresh_of_a_row_sent_long_ago_starts_a_new_give_up_clock(
    run, slack_stub, channel, clock, settings
):
    settings.SLACK_GIVE_UP_AFTER = 3600
    refresh = lambda: outbox.call_refresh(  # noqa: E731
        kind=POST, key="topic:1", payload={"channel": channel, "text": "v"}
    )
    run(refresh)
    clock.advance(hours=5)
    slack_stub.go_down()
    run(refresh)

    call = row("topic:1")
    assert (call.state, call.failures) == (CallState.PENDING, 1)


def test_without_a_token_rows_wait_and_go_once_it_is_set(run, slack_stub, channel, settings):
    token = settings.SLACK_BOT_TOKEN
    settings.SLACK_BOT_TOKEN = ""
    add(run, channel)
    tick(run)
    tick(run)

    assert slack_stub.calls == []
    call = row("notice:1")
    assert (call.state, call.attempts, call.failures) == (CallState.PENDING, 0, 0)

    settings.SLACK_BOT_TOKEN = token
    tick(run)
    tick(run)
    assert texts(slack_stub, channel) == ["hello"]


def test_a_token_slack_refuses_is_retried_until_fixed(run, slack_stub, channel, clock, settings):
    token = settings.SLACK_BOT_TOKEN
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"
    add(run, channel)
    call = row("notice:1")
    assert (call.state, call.last_error) == (CallState.PENDING, "invalid_auth")

    settings.SLACK_BOT_TOKEN = token
    clock.advance(seconds=2)
    tick(run)
    assert texts(slack_stub, channel) == ["hello"]


def test_not_ready_waits_without_counting_an_attempt(run, slack_stub, channel, clock):
    ready: list[bool] = []

    def waits_for_channel(call: SlackCall, client: WebClient) -> dict[str, Any]:
        if not ready:
            raise NotReady("the incident channel is not created yet", wait=5)
        return post(call, client)

    outbox.register_sender("test.waits", waits_for_channel)
    run(
        lambda: outbox.call_add(
            kind="test.waits", key="notice:1", payload={"channel": channel, "text": "hi"}
        )
    )
    call = row("notice:1")
    assert (call.state, call.attempts, call.failures) == (CallState.PENDING, 0, 0)
    assert call.due_at == clock.now + timedelta(seconds=5)
    assert slack_stub.calls == []

    ready.append(True)
    clock.advance(seconds=5)
    tick(run)
    assert texts(slack_stub, channel) == ["hi"]
    assert row("notice:1").attempts == 1


def test_a_row_waiting_for_another_gives_up_in_time(run, slack_stub, clock, settings):
    settings.SLACK_GIVE_UP_AFTER = 60

    def never_ready(call: SlackCall, client: WebClient) -> None:
        raise NotReady("the incident channel is not created yet", wait=5)

    outbox.register_sender("test.never", never_ready)
    run(lambda: outbox.call_add(kind="test.never", key="notice:1"))
    clock.advance(seconds=61)
    tick(run)

    assert row("notice:1").state == CallState.FAILED


def test_a_kind_this_worker_does_not_know_is_retried(run, slack_stub, channel, clock):
    run(
        lambda: outbox.call_add(
            kind="test.newer", key="notice:1", payload={"channel": channel, "text": "hi"}
        )
    )
    call = row("notice:1")
    assert (call.state, call.failures) == (CallState.PENDING, 1)

    outbox.register_sender("test.newer", post)  # the deploy reaches this worker
    clock.advance(seconds=2)
    tick(run)
    assert row("notice:1").state == CallState.SENT
