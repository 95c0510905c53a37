"""The email outbox sends each row once, backs off while the SMTP server is away, gives up in
time, and loses nothing with a killed worker or a Redis that forgot its tasks.

Rows are sent by the real task (run eagerly) through Django's SMTP mailer to a real SMTP server
on loopback; time moves with the clock fixture, and the beat's tick is called directly.
"""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.conf import settings as django_settings

from postmortems import tasks
from postmortems.models import EmailState, OutgoingEmail
from postmortems.services import emails
from tests.chatops.outbox_helpers import eager  # noqa: F401
from tests.harness import ROOT, wait_until
from tests.oncall.cluster import Cluster

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager")]

TO = "rosa@example.com"


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run `work`, then what it left for after commit (the sends the tick enqueued)."""

    def run(work: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


@pytest.fixture
def tick(run) -> Callable[[], None]:
    """The beat's tick, as the worker runs it."""
    return lambda: run(tasks.tick)


def queue(key: str = "test:1", **fields: Any) -> OutgoingEmail:
    fields.setdefault("to", TO)
    fields.setdefault("subject", "Your action item is due")
    fields.setdefault("text", "Add the missing alert.\n")
    email = emails.email_queue(key=key, **fields)
    assert email is not None
    return email


def row(email: OutgoingEmail) -> OutgoingEmail:
    return OutgoingEmail.objects.get(pk=email.pk)


def text_of(part: Any) -> str:
    """A received part's text as it was written (SMTP carries lines ending CRLF)."""
    content = part.get_content()
    if isinstance(content, bytes):
        content = content.decode()
    return content.replace("\r\n", "\n")


def smtp_down(settings, port: int) -> None:
    """The SMTP server is away: connections to it are refused."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2},
        }
    }


def test_a_queued_email_is_sent_by_the_tick(smtp_stub, clock, tick):
    email = queue(html="<p>Add the missing alert.</p>")

    tick()

    [message] = smtp_stub.messages_to(TO)
    assert message["Subject"] == "Your action item is due"
    assert text_of(message.get_body(("plain",))) == "Add the missing alert.\n"
    assert text_of(message.get_body(("html",))).strip() == "<p>Add the missing alert.</p>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == emails.message_id(row(email))
    sent = row(email)
    assert (sent.state, sent.attempts, sent.sent_at) == (EmailState.SENT, 1, clock.now)


def test_two_ticks_send_an_email_once(smtp_stub, clock, tick):
    email = queue()

    tick()
    tick()
    clock.advance(minutes=10)
    tick()

    assert len(smtp_stub.messages_to(TO)) == 1
    assert row(email).attempts == 1


def test_a_row_is_handed_out_once_while_its_task_is_on_its_way(clock, run):
    # While workers work through a backlog, the tick must not queue a duplicate task per row
    # every few seconds.
    email = queue()
    handed: list[int] = []

    run(lambda: emails.emails_dispatch_due(enqueue=handed.extend))
    clock.advance(seconds=5)
    run(lambda: emails.emails_dispatch_due(enqueue=handed.extend))

    assert handed == [email.pk]


def test_the_same_task_run_twice_sends_once(smtp_stub, run):
    email = queue()

    assert run(lambda: emails.email_send(email_id=email.pk)) == "sent"
    assert run(lambda: emails.email_send(email_id=email.pk)) == "skipped"

    assert len(smtp_stub.messages_to(TO)) == 1


def test_a_second_queue_with_the_same_key_adds_nothing():
    queue()

    assert emails.email_queue(key="test:1", to=TO, subject="Again", text="Again") is None
    assert OutgoingEmail.objects.count() == 1


def test_an_email_not_due_yet_waits(smtp_stub, clock, tick):
    email = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(due_at=clock.now + timedelta(minutes=3))

    tick()
    assert smtp_stub.messages == []

    clock.advance(minutes=3)
    tick()
    assert len(smtp_stub.messages_to(TO)) == 1


def test_an_smtp_server_away_is_retried_with_backoff_until_it_answers(
    smtp_stub, clock, tick, settings, unused_port
):
    email = queue()
    mailer = settings.MAILERS
    smtp_down(settings, unused_port)

    tick()
    waiting = row(email)
    assert (waiting.state, waiting.attempts) == (EmailState.PENDING, 1)
    assert waiting.due_at == clock.now + emails.FIRST_RETRY
    assert "Connection refused" in waiting.last_error or "Errno" in waiting.last_error

    settings.MAILERS = mailer
    clock.advance(minutes=1)
    tick()
    assert smtp_stub.messages == []  # not before its time

    clock.advance(minutes=1)
    tick()
    tick()
    assert len(smtp_stub.messages_to(TO)) == 1
    sent = row(email)
    assert (sent.state, sent.attempts, sent.last_error) == (EmailState.SENT, 2, "")


def test_a_busy_mailbox_is_retried(smtp_stub, clock, tick):
    email = queue()
    smtp_stub.refuse(TO, reply="452 4.2.2 Mailbox full, try later")

    tick()

    waiting = row(email)
    assert (waiting.state, waiting.attempts) == (EmailState.PENDING, 1)
    assert waiting.last_error == "Recipient refused (452): 4.2.2 Mailbox full, try later"


def test_the_backoff_doubles_up_to_its_longest():
    assert [emails.retry_delay(n) for n in range(1, 7)] == [
        timedelta(minutes=m) for m in (2, 4, 8, 16, 30, 30)
    ]


def test_an_email_gives_up_after_its_last_attempt(clock, tick, settings, unused_port):
    email = queue()
    smtp_down(settings, unused_port)

    attempts_seen = []
    for _ in range(emails.MAX_ATTEMPTS + 3):
        tick()
        attempts_seen.append(row(email).attempts)
        clock.advance(minutes=31)

    failed = row(email)
    assert failed.state == EmailState.FAILED
    assert failed.attempts == emails.MAX_ATTEMPTS
    assert failed.last_error
    assert attempts_seen[: emails.MAX_ATTEMPTS] == list(range(1, emails.MAX_ATTEMPTS + 1))
    assert attempts_seen[emails.MAX_ATTEMPTS :] == [emails.MAX_ATTEMPTS] * 3


def test_a_refused_recipient_fails_at_once(smtp_stub, clock, tick):
    email = queue()
    smtp_stub.refuse(TO)  # 550: the address does not exist

    tick()
    clock.advance(hours=2)
    tick()

    failed = row(email)
    assert (failed.state, failed.attempts) == (EmailState.FAILED, 1)
    assert failed.last_error == "Recipient refused (550): 5.1.1 User unknown"
    assert smtp_stub.messages == []


def test_a_row_left_sending_by_a_killed_worker_is_sent_once_after_its_lease(
    smtp_stub, clock, tick, run
):
    email = queue()
    # A worker claimed it and was killed before the server answered (SIGKILL, OOM): acks_late
    # keeps the task, but nothing comes back to say what became of the row.
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, claimed_at=clock.now, attempts=1
    )

    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_LEASE - 1)
    tick()
    # The broker redelivers the unacknowledged task to another worker: too early to take over.
    assert run(lambda: emails.email_send(email_id=email.pk)) == "skipped"
    assert smtp_stub.messages == []

    clock.advance(seconds=2)
    tick()
    tick()

    assert len(smtp_stub.messages_to(TO)) == 1
    sent = row(email)
    assert (sent.state, sent.attempts) == (EmailState.SENT, 2)


def test_a_redelivered_task_takes_over_a_dead_workers_row_after_its_lease(smtp_stub, clock, run):
    email = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, claimed_at=clock.now, attempts=1
    )
    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_LEASE + 1)

    assert run(lambda: emails.email_send(email_id=email.pk)) == "sent"
    assert run(lambda: emails.email_send(email_id=email.pk)) == "skipped"

    assert len(smtp_stub.messages_to(TO)) == 1


def test_a_row_whose_task_was_lost_with_redis_is_sent_once(smtp_stub, clock, tick, run):
    email = queue()

    def lose_the_tasks(ids: list[int]) -> None:
        """An enqueue whose tasks never reach a worker: Redis restarted with them in it."""

    assert run(lambda: emails.emails_dispatch_due(enqueue=lose_the_tasks)) == [email.pk]
    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_REQUEUE_AFTER - 1)
    tick()
    assert smtp_stub.messages == []  # not yet presumed lost

    clock.advance(seconds=2)
    tick()
    tick()

    assert len(smtp_stub.messages_to(TO)) == 1
    sent = row(email)
    assert (sent.state, sent.attempts) == (EmailState.SENT, 1)


def test_a_send_that_outlived_its_lease_does_not_undo_the_rescuers_outcome(
    smtp_stub, clock, tick, run
):
    email = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, claimed_at=clock.now, attempts=1
    )
    stale = row(email)
    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_LEASE + 1)
    tick()
    assert row(email).state == EmailState.SENT

    # The first worker wakes up and records its failure on a row no longer its own.
    emails._failed(stale, OSError("timed out"), now=clock.now)

    after = row(email)
    assert (after.state, after.last_error) == (EmailState.SENT, "")


def test_a_message_that_kills_every_worker_gives_up(smtp_stub, clock, run):
    email = queue()
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, claimed_at=clock.now, attempts=emails.MAX_ATTEMPTS
    )
    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_LEASE + 1)

    assert run(lambda: emails.email_send(email_id=email.pk)) == "failed"

    assert smtp_stub.messages == []
    assert row(email).state == EmailState.FAILED


def test_a_copy_sent_again_after_a_lost_answer_is_the_same_message(smtp_stub, clock, tick):
    email = queue()
    tick()
    # As if the worker died after the server took the message and before the row said so.
    OutgoingEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, claimed_at=clock.now, sent_at=None
    )
    clock.advance(seconds=django_settings.POSTMORTEM_EMAIL_LEASE + 1)
    tick()

    first, second = smtp_stub.messages_to(TO)
    assert first["Message-ID"] == second["Message-ID"] == emails.message_id(row(email))


def test_an_invitation_carries_its_calendar_with_the_method(smtp_stub, tick):
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    queue(ics=ics, ics_method="REQUEST", html="<p>Join us.</p>")

    tick()

    [message] = smtp_stub.messages_to(TO)
    assert text_of(message.get_body(("plain",))) == "Add the missing alert.\n"
    [calendar] = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.is_attachment()
    ]
    assert calendar.get_param("method") == "REQUEST"
    assert text_of(calendar) == ics.replace("\r\n", "\n")
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "application/ics"
    assert text_of(attachment) == ics.replace("\r\n", "\n")


def test_the_send_task_is_acknowledged_late_on_a_queue_make_runs_worker_consumes():
    assert tasks.send_email.acks_late is True
    assert current_app.conf.task_reject_on_worker_lost is True
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    consumed = procfile["worker"].split("--queues ", 1)[1].split()[0].split(",")
    queue_name = current_app.amqp.router.route({}, "postmortems.tasks.send_email")["queue"].name
    assert queue_name in consumed
    assert "postmortems-tick" in django_settings.CELERY_BEAT_SCHEDULE


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_send_leaves_the_email_to_a_fresh_worker(
    tmp_path, redis_server, smtp_stub
):
    """Real Celery workers and beat on a private Redis, sending to the SMTP server on loopback.

    The server stalls its answer to RCPT; the worker is killed with SIGKILL while it waits, so
    the row stays `sending` and its task unacknowledged. Once the lease runs out, a fresh
    worker's tick hands the row out again and it is sent, once. (Nothing here consumes the
    test process's own Redis: the first send is itself the tick's.)
    """
    cluster = Cluster(
        tmp_path,
        redis_server,
        {
            "EMAIL_URL": f"smtp://{smtp_stub.host}:{smtp_stub.port}",
            "POSTMORTEM_EMAIL_LEASE": "5",
            "POSTMORTEM_EMAIL_REQUEUE_AFTER": "3",
        },
    )
    try:
        smtp_stub.stall_rcpt(60)
        cluster.start_worker("w1", queues="celery")
        cluster.start_beat("beat")
        email = queue()
        wait_until(
            lambda: row(email).state == EmailState.SENDING,
            timeout=30,
            what="the first worker's claim",
        )

        cluster.kill("w1")
        smtp_stub.stall_rcpt(0)
        cluster.start_worker("w2", queues="celery")
        wait_until(
            lambda: row(email).state == EmailState.SENT,
            timeout=60,
            what="the row sent by the fresh worker",
        )
        # Ticks keep running: nothing more goes out.
        settled = time.monotonic() + 6
        wait_until(lambda: time.monotonic() > settled, timeout=10, what="a few ticks")
    finally:
        cluster.stop()

    assert len(smtp_stub.messages_to(TO)) == 1
    assert row(email).attempts == 2
