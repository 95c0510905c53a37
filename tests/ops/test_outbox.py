"""The outbox mechanics every outbox shares: a row handed out once, claimed by one worker, and
settled only by the worker whose claim still holds.

ops has no outbox of its own: the rows here are the monthly report's (ReportDelivery), which
has the fields an outbox has and nothing these tests would have to fill in.
"""

import logging
import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from ops import outbox
from reports.models import DeliveryState, ReportDelivery
from tests.harness import in_thread

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
LEASE = timedelta(minutes=5)
REQUEUE_AFTER = timedelta(minutes=1)


def make(email: str = "ada@example.com", **fields) -> ReportDelivery:
    fields.setdefault("due_at", NOW)
    return ReportDelivery.objects.create(month="2026-11", email=email, **fields)


def fresh(row: ReportDelivery) -> ReportDelivery:
    return ReportDelivery.objects.get(pk=row.pk)


def hand_out(now: datetime = NOW, limit: int = 100) -> list[int]:
    with transaction.atomic():
        rows = outbox.hand_out(
            ReportDelivery.objects.order_by("due_at", "pk"),
            now=now,
            lease=LEASE,
            requeue_after=REQUEUE_AFTER,
            limit=limit,
        )
    return [pk for (pk,) in rows]


def claimed(row: ReportDelivery, *, now: datetime = NOW) -> ReportDelivery:
    """`row` claimed by a worker at `now`, as the worker's copy of it."""
    due = ReportDelivery.objects.filter(outbox.due(now, lease=LEASE), pk=row.pk)
    assert outbox.claim(due, now=now) == 1
    return fresh(row)


def held(row: ReportDelivery):
    return outbox.held(ReportDelivery.objects.filter(pk=row.pk), claimed_at=row.claimed_at)


@contextmanager
def locked_elsewhere(row: ReportDelivery) -> Iterator[None]:
    """`row` locked FOR UPDATE by another connection's open transaction while the block runs."""
    holding, release = threading.Event(), threading.Event()

    def other_transaction() -> None:
        with transaction.atomic():
            ReportDelivery.objects.select_for_update().get(pk=row.pk)
            holding.set()
            release.wait(20)

    other = in_thread(other_transaction)
    try:
        assert holding.wait(10)
        yield
    finally:
        release.set()
        other.join(10)


def test_the_backoff_doubles_from_the_first_delay_up_to_the_longest():
    delays = [
        outbox.backoff(n, first=timedelta(minutes=1), longest=timedelta(minutes=5))
        for n in range(0, 6)
    ]

    assert delays == [timedelta(minutes=m) for m in (1, 1, 2, 4, 5, 5)]


def test_due_rows_are_pending_and_due_or_sending_past_their_lease():
    due = make("due@example.com")
    make("later@example.com", due_at=NOW + timedelta(seconds=1))
    make("held@example.com", state=DeliveryState.SENDING, claimed_at=NOW - LEASE)
    dead = make("dead@example.com", state=DeliveryState.SENDING, claimed_at=NOW - LEASE * 2)
    make("sent@example.com", state=DeliveryState.SENT, due_at=NOW - LEASE)
    make("failed@example.com", state=DeliveryState.FAILED, due_at=NOW - LEASE)

    found = ReportDelivery.objects.filter(outbox.due(NOW, lease=LEASE))

    assert set(found) == {due, dead}


def test_a_row_is_handed_out_once_until_its_task_must_have_been_lost():
    row = make()

    assert hand_out() == [row.pk]
    assert hand_out(NOW + REQUEUE_AFTER) == []
    assert hand_out(NOW + REQUEUE_AFTER + timedelta(seconds=1)) == [row.pk]
    handed = fresh(row)
    assert (handed.state, handed.claimed_at) == (
        DeliveryState.PENDING,
        NOW + REQUEUE_AFTER + timedelta(seconds=1),
    )


def test_a_row_a_dead_worker_held_is_handed_out_again_after_its_lease():
    row = make(state=DeliveryState.SENDING, claimed_at=NOW, attempts=1)

    assert hand_out(NOW + LEASE) == []
    assert hand_out(NOW + LEASE + timedelta(seconds=1)) == [row.pk]
    assert fresh(row).state == DeliveryState.PENDING
    assert fresh(row).attempts == 1


def test_hand_out_takes_the_outboxs_order_up_to_its_limit_and_the_fields_asked():
    second = make("second@example.com", due_at=NOW - timedelta(minutes=1))
    first = make("first@example.com", due_at=NOW - timedelta(minutes=2))
    make("third@example.com")

    with transaction.atomic():
        rows = outbox.hand_out(
            ReportDelivery.objects.order_by("due_at"),
            "email",
            now=NOW,
            lease=LEASE,
            requeue_after=REQUEUE_AFTER,
            limit=2,
        )

    assert rows == [(first.pk, "first@example.com"), (second.pk, "second@example.com")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_hand_out_passes_over_a_row_another_tick_has_locked_without_waiting():
    locked, free = make("locked@example.com"), make("free@example.com")

    with locked_elsewhere(locked):
        assert hand_out() == [free.pk]
    assert hand_out(NOW + timedelta(seconds=1)) == [locked.pk]


def test_of_two_claims_on_a_row_one_wins_and_counts_an_attempt():
    row = make()
    due = ReportDelivery.objects.filter(outbox.due(NOW, lease=LEASE), pk=row.pk)

    assert outbox.claim(due, now=NOW) == 1
    assert outbox.claim(due, now=NOW) == 0

    taken = fresh(row)
    assert (taken.state, taken.claimed_at, taken.attempts) == (DeliveryState.SENDING, NOW, 1)


def claim_next(rows=None, *, clock=lambda: NOW, max_attempts: int = 3, gave_up=None):
    return outbox.claim_next(
        ReportDelivery.objects.all() if rows is None else rows,
        clock=clock,
        lease=LEASE,
        max_attempts=max_attempts,
        gave_up=gave_up or (lambda row: None),
    )


def test_claim_next_claims_the_due_rows_of_those_given_due_first_one_at_a_time():
    second = make("second@example.com", due_at=NOW - timedelta(minutes=1))
    first = make("first@example.com", due_at=NOW - timedelta(minutes=2))
    make("later@example.com", due_at=NOW + timedelta(seconds=1))
    make("other@example.com", due_at=NOW - timedelta(minutes=3))
    rows = ReportDelivery.objects.exclude(email="other@example.com")

    taken = claim_next(rows)

    assert taken == first
    assert (taken.state, taken.claimed_at, taken.attempts) == (DeliveryState.SENDING, NOW, 1)
    assert fresh(first).state == DeliveryState.SENDING
    assert claim_next(rows) == second
    assert claim_next(rows) is None


def test_claim_next_gives_up_a_row_every_worker_died_on_and_claims_the_next():
    dead = make(
        "dead@example.com",
        state=DeliveryState.SENDING,
        claimed_at=NOW - LEASE * 2,
        attempts=3,
        due_at=NOW - timedelta(hours=1),
    )
    due = make("due@example.com")
    times = iter([NOW, NOW + timedelta(seconds=1)])
    given_up = []

    taken = claim_next(clock=lambda: next(times), gave_up=given_up.append)

    assert given_up == [dead]
    gone = fresh(dead)
    assert (gone.state, gone.attempts, gone.last_error) == (
        DeliveryState.FAILED,
        3,
        "no attempt finished: each died with its worker",
    )
    # The clock is read again for the row claimed after the one given up.
    assert (taken, taken.claimed_at, taken.attempts) == (due, NOW + timedelta(seconds=1), 1)


def test_claim_next_keeps_a_given_up_rows_last_error():
    make(state=DeliveryState.SENDING, claimed_at=NOW - LEASE * 2, attempts=3, last_error="451")

    assert claim_next() is None

    assert ReportDelivery.objects.get().last_error == "451"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_claim_next_passes_over_a_row_another_worker_has_locked_without_waiting():
    locked = make("locked@example.com", due_at=NOW - timedelta(minutes=1))
    free = make("free@example.com")

    with locked_elsewhere(locked):
        assert claim_next() == free
        assert claim_next() is None
    assert claim_next() == locked


def test_a_worker_whose_row_was_taken_over_settles_nothing():
    stale = claimed(make())
    rescuer = claimed(stale, now=NOW + LEASE + timedelta(seconds=1))

    assert outbox.mark_sent(held(stale)) == 0
    assert outbox.give_up(held(stale), error="timed out") == 0
    outbox.retry_or_give_up(
        held(stale),
        attempts=stale.attempts,
        max_attempts=3,
        error="timed out",
        permanent=False,
        retry_at=NOW,
    )

    after = fresh(stale)
    assert (after.state, after.claimed_at, after.attempts, after.last_error) == (
        DeliveryState.SENDING,
        rescuer.claimed_at,
        2,
        "",
    )


def test_a_sent_row_says_so_and_forgets_its_last_error():
    row = claimed(make(last_error="SMTP error 451: try later"))

    assert outbox.mark_sent(held(row)) == 1

    sent = fresh(row)
    assert (sent.state, sent.last_error) == (DeliveryState.SENT, "")
    assert sent.sent_at is not None


def test_a_failed_attempt_is_retried_when_due_with_its_error_kept():
    row = claimed(make())

    outcome = outbox.retry_or_give_up(
        held(row),
        attempts=row.attempts,
        max_attempts=3,
        error="SMTP error 451: try later",
        permanent=False,
        retry_at=NOW + timedelta(minutes=2),
    )

    assert outcome == "retry"
    waiting = fresh(row)
    assert (waiting.state, waiting.due_at, waiting.claimed_at, waiting.last_error) == (
        DeliveryState.PENDING,
        NOW + timedelta(minutes=2),
        None,
        "SMTP error 451: try later",
    )


def test_the_last_attempt_gives_up():
    row = claimed(make(attempts=2))

    outcome = outbox.retry_or_give_up(
        held(row), attempts=row.attempts, max_attempts=3, error="x", permanent=False, retry_at=NOW
    )

    assert outcome == "failed"
    assert (fresh(row).state, fresh(row).last_error) == (DeliveryState.FAILED, "x")


def test_a_permanent_failure_gives_up_at_the_first_attempt_keeping_a_bounded_error():
    row = claimed(make())

    outcome = outbox.retry_or_give_up(
        held(row),
        attempts=row.attempts,
        max_attempts=3,
        error="5" * 5000,
        permanent=True,
        retry_at=NOW,
    )

    assert outcome == "failed"
    assert fresh(row).state == DeliveryState.FAILED
    assert len(fresh(row).last_error) == outbox.ERROR_LENGTH


def test_deliver_sends_and_marks_the_row_sent():
    row = claimed(make())
    sends = []

    assert outbox.deliver(held(row), lambda: sends.append(row.pk), what="the report") is None

    assert sends == [row.pk]
    assert fresh(row).state == DeliveryState.SENT


def test_deliver_hands_a_mailers_error_back_and_leaves_the_row_to_the_caller():
    row = claimed(make())
    refused = OSError("Connection refused")

    def send() -> None:
        raise refused

    assert outbox.deliver(held(row), send, what="the report") is refused
    assert fresh(row).state == DeliveryState.SENDING


def test_deliver_logs_an_unexpected_error_with_its_traceback_and_hands_it_back(caplog):
    row = claimed(make())

    def send() -> None:
        raise KeyError("template")

    with caplog.at_level(logging.ERROR, logger="ops.outbox"):
        error = outbox.deliver(held(row), send, what="the report to ada")

    assert isinstance(error, KeyError)
    [record] = caplog.records
    assert record.getMessage() == "the report to ada failed"
    assert record.exc_info is not None
    assert fresh(row).state == DeliveryState.SENDING


def test_deliver_after_the_lease_ran_out_leaves_the_rescuers_row_alone(caplog):
    stale = claimed(make())
    rescuer = claimed(stale, now=NOW + LEASE + timedelta(seconds=1))

    with caplog.at_level(logging.WARNING, logger="ops.outbox"):
        assert outbox.deliver(held(stale), lambda: None, what="the report to ada") is None

    assert "the report to ada was sent after its lease ran out" in caplog.text
    after = fresh(stale)
    assert (after.state, after.claimed_at) == (DeliveryState.SENDING, rescuer.claimed_at)


@pytest.mark.parametrize(
    ("error", "permanent", "text"),
    [
        (
            smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"5.1.1 User unknown")}),
            True,
            "Recipient refused (550): 5.1.1 User unknown",
        ),
        (
            smtplib.SMTPRecipientsRefused({"a@example.com": (452, b"4.2.2 Mailbox full")}),
            False,
            "Recipient refused (452): 4.2.2 Mailbox full",
        ),
        (
            smtplib.SMTPDataError(554, b"5.7.1 Rejected"),
            False,
            "SMTP error 554: 5.7.1 Rejected",
        ),
        (ValueError("Invalid address"), True, "ValueError: Invalid address"),
        (
            ConnectionRefusedError(111, "Connection refused"),
            False,
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
    ],
)
def test_what_an_smtp_failure_means_for_the_row(error, permanent, text):
    assert outbox.smtp_permanent(error) is permanent
    assert outbox.smtp_error_text(error) == text
