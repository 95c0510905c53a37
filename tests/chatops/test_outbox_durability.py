"""Nothing meant for Slack, and nothing Slack sent us, is lost with a worker or with Redis.

The rows are the truth: a send left `sending` by a killed worker, or `queued` with its task
lost with Redis, is handed out again by the tick and sent once; likewise a stored Slack event
whose task was lost is processed once by `inbound_rescue`. The last test runs real Celery
workers on a private Redis and kills one with SIGKILL in the middle of a Slack call.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.conf import settings as django_settings
from django.utils import timezone

from chatops import slack_events
from chatops.models import CallState, InboundKind, InboundRequest, SlackCall
from chatops.services import inbound, outbox
from tests.chatops.outbox_helpers import eager  # noqa: F401
from tests.chatops.outbox_senders import POST
from tests.harness import ROOT, wait_until
from tests.oncall.cluster import Cluster


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    def run(work: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


@pytest.fixture
def handled() -> Iterator[list[str]]:
    """The event_ids of test events handled; the handler is gone after the test."""
    handled: list[str] = []
    registered = dict(slack_events._handlers)
    slack_events.register_event(
        "tocsin_test_event", lambda event, envelope: handled.append(envelope["event_id"])
    )
    yield handled
    slack_events._handlers.clear()
    slack_events._handlers.update(registered)


def lose_the_tasks(ids: list[int]) -> None:
    """An enqueue whose tasks never reach a worker: Redis restarted with them in it."""


def add_undispatched(channel: str) -> SlackCall:
    # Outside the run() helper: the after-commit dispatch never happens, as when the process
    # that added the row died right after committing.
    outbox.call_add(kind=POST, key="notice:1", payload={"channel": channel, "text": "hello"})
    return SlackCall.objects.get(key="notice:1")


@pytest.mark.django_db
@pytest.mark.usefixtures("eager")
class TestRescue:
    def test_a_row_left_sending_by_a_killed_worker_is_sent_once(
        self, run, slack_stub, clock, settings
    ):
        channel = slack_stub.add_channel("general")
        call = add_undispatched(channel)
        # A worker claimed it and died before Slack answered.
        SlackCall.objects.filter(pk=call.pk).update(
            state=CallState.SENDING, claimed_at=clock.now, attempts=1
        )
        clock.advance(seconds=settings.SLACK_CALL_LEASE - 1)
        run(outbox.tick)
        assert slack_stub.calls_to("chat.postMessage") == []

        clock.advance(seconds=2)
        run(outbox.tick)
        run(outbox.tick)

        assert [m.text for m in slack_stub.messages_in(channel)] == ["hello"]
        call.refresh_from_db()
        assert (call.state, call.sends, call.attempts) == (CallState.SENT, 1, 2)

    def test_a_row_whose_task_was_lost_with_redis_is_sent_once(
        self, run, slack_stub, clock, settings
    ):
        channel = slack_stub.add_channel("general")
        call = add_undispatched(channel)
        run(lambda: outbox.calls_dispatch_due(enqueue=lose_the_tasks))
        call.refresh_from_db()
        assert call.state == CallState.QUEUED

        clock.advance(seconds=settings.SLACK_REQUEUE_AFTER + 1)
        run(outbox.tick)
        run(outbox.tick)

        assert [m.text for m in slack_stub.messages_in(channel)] == ["hello"]
        call.refresh_from_db()
        assert (call.state, call.sends) == (CallState.SENT, 1)

    def test_a_send_that_outlived_its_lease_does_not_undo_the_rescuers_outcome(
        self, run, slack_stub, clock, settings
    ):
        channel = slack_stub.add_channel("general")
        call = add_undispatched(channel)
        SlackCall.objects.filter(pk=call.pk).update(
            state=CallState.SENDING, claimed_at=clock.now, attempts=1
        )
        stale = SlackCall.objects.get(pk=call.pk)
        clock.advance(seconds=settings.SLACK_CALL_LEASE + 1)
        run(outbox.tick)
        # The first worker wakes up and tries to record a failure on a row no longer its own.
        outbox._retry_later(stale, wait=300, error="late")

        call.refresh_from_db()
        assert (call.state, call.last_error) == (CallState.SENT, "")

    def test_a_stored_event_whose_task_was_lost_is_processed_once(self, run, clock, handled):
        # Stored, but its task never ran (not run(): the after-commit enqueue is lost).
        inbound.inbound_store(
            key="Ev0001",
            kind=InboundKind.EVENT,
            payload={"event_id": "Ev0001", "event": {"type": "tocsin_test_event"}},
        )
        run(inbound.inbound_rescue)
        assert handled == []  # not yet presumed lost

        clock.advance(seconds=31)
        run(inbound.inbound_rescue)
        run(inbound.inbound_rescue)

        assert handled == ["Ev0001"]
        stored = InboundRequest.objects.get(key="Ev0001")
        assert stored.processed_at is not None
        assert stored.attempts == 1

    def test_a_stored_event_left_claimed_by_a_killed_worker_is_processed_once(
        self, run, clock, handled
    ):
        inbound.inbound_store(
            key="Ev0002",
            kind=InboundKind.EVENT,
            payload={"event_id": "Ev0002", "event": {"type": "tocsin_test_event"}},
        )
        InboundRequest.objects.filter(key="Ev0002").update(claimed_at=clock.now, attempts=1)
        clock.advance(seconds=60)
        run(inbound.inbound_rescue)
        assert handled == []

        clock.advance(seconds=61)
        run(inbound.inbound_rescue)
        run(inbound.inbound_rescue)
        assert handled == ["Ev0002"]

    def test_a_lost_event_is_handed_out_once_per_interval_not_every_tick(self, clock):
        # While workers work through a backlog, the tick must not queue a duplicate task per
        # stored request every second.
        inbound.inbound_store(
            key="Ev0003",
            kind=InboundKind.EVENT,
            payload={"event_id": "Ev0003", "event": {"type": "tocsin_test_event"}},
        )
        handed: list[int] = []
        clock.advance(seconds=31)
        inbound.inbound_rescue(enqueue=handed.extend)
        clock.advance(seconds=1)
        inbound.inbound_rescue(enqueue=handed.extend)
        assert len(handed) == 1

        clock.advance(seconds=30)
        inbound.inbound_rescue(enqueue=handed.extend)
        assert len(handed) == 2  # still unprocessed half a minute later: handed out again


def test_chatops_tasks_go_to_the_queue_make_runs_worker_consumes():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    consumed = procfile["worker"].split("--queues ", 1)[1].split()[0].split(",")
    for task in ("chatops.tasks.tick", "chatops.tasks.send_call", "chatops.tasks.process_inbound"):
        queue = current_app.amqp.router.route({}, task)["queue"].name
        # The default queue: pages keep theirs to themselves.
        assert queue == current_app.conf.task_default_queue != "paging"
        assert queue in consumed
    assert "chatops-tick" in django_settings.CELERY_BEAT_SCHEDULE


def start_worker(cluster: Cluster, name: str) -> None:
    # As tests.oncall.cluster does (the solo pool: the kill lands mid-call), and knowing the
    # test senders.
    cluster._start(
        name,
        [
            "worker",
            "--queues=celery",
            "--pool=solo",
            "--include=tests.chatops.outbox_senders",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            f"--hostname={name}@%h",
            "--loglevel=INFO",
        ],
    )
    wait_until(lambda: "ready." in cluster.log(name), timeout=60, what=f"worker {name}")


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_call_leaves_the_message_to_a_fresh_worker(
    tmp_path, redis_server, slack_stub
):
    """At least once, never lost, and no more than once after the kill.

    The stub takes the post and stalls its answer; the worker is killed while it waits, so the
    row stays `sending`. After the lease a fresh worker's tick sends it again and records it
    sent. Slack had already taken the first post (its answer was what got lost), so the channel
    shows the message twice: that is the at-least-once the outbox promises, and what it costs
    when a worker dies mid-call. What this proves: nothing is lost, the row ends sent exactly
    once in our books, and no third post follows. (The test process publishes the first
    task to its own Redis, which no worker here consumes: the first send is itself the
    tick's rescue of a lost task.)
    """
    channel = slack_stub.add_channel("general")
    cluster = Cluster(
        tmp_path,
        redis_server,
        {
            "SLACK_API_URL": slack_stub.api_url,
            "SLACK_BOT_TOKEN": slack_stub.token,
            "SLACK_TIMEOUT": "60",
            "SLACK_CALL_LEASE": "5",
            "SLACK_REQUEUE_AFTER": "3",
        },
    )
    try:
        slack_stub.stall_next(60)
        start_worker(cluster, "w1")
        cluster.start_beat("beat")
        outbox.call_add(kind=POST, key="notice:1", payload={"channel": channel, "text": "hello"})
        wait_until(
            lambda: len(slack_stub.calls_to("chat.postMessage")) == 1,
            timeout=30,
            what="the first post",
        )
        assert SlackCall.objects.get(key="notice:1").state == CallState.SENDING

        cluster.kill("w1")
        start_worker(cluster, "w2")
        wait_until(
            lambda: SlackCall.objects.get(key="notice:1").state == CallState.SENT,
            timeout=60,
            what="the row sent by the fresh worker",
        )
        # Ticks keep running: nothing more goes out.
        time_to_settle = timezone.now() + timedelta(seconds=3)
        wait_until(lambda: timezone.now() > time_to_settle, timeout=10, what="a few ticks")
    finally:
        cluster.stop()

    call = SlackCall.objects.get(key="notice:1")
    assert (call.sends, call.attempts) == (1, 2)
    assert [m.text for m in slack_stub.messages_in(channel)] == ["hello", "hello"]
    assert len(slack_stub.calls_to("chat.postMessage")) == 2
