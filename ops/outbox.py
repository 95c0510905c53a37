"""What every outbox shares: rows sent by workers, each once (DESIGN.md, "Durability").

An outbox is a model with these fields (the apps' own models; this module knows none):
`state` (PENDING, SENDING, SENT, FAILED below), `due_at`, `claimed_at` (null), `attempts`,
`sent_at` (null) and `last_error`. A row is `pending` until due, then claimed by a worker with
one conditional UPDATE (or under SELECT … FOR UPDATE SKIP LOCKED), which makes it `sending`,
stamps `claimed_at` and counts one more attempt. The worker then marks it `sent`, or puts it
back `pending`, due later, or gives it up: `failed`, with the error. Every write after the
claim is conditional on the claim (`held`), so a worker that outlived its lease cannot undo
what the rescuer that took the row over recorded.

What brings a row back:
- its worker died: the row is `sending` past its lease (`abandoned`), and may be claimed again;
- its task was lost with Redis: a tick that hands rows to workers (`hand_out`) stamps
  `claimed_at` on rows still `pending`, and hands them out again once `requeue_after` has
  passed without a worker claiming them.

The apps keep what is theirs: what a message says and who gets it, the order rows may go in,
what counts as a permanent failure, how many attempts, and what is logged.
"""

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

# The values of an outbox's `state`; each app's TextChoices has the same four.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"

# The most of an error a row keeps.
ERROR_LENGTH = 1000


def backoff(attempts: int, *, first: timedelta, longest: timedelta) -> timedelta:
    """How long to wait after the `attempts`th attempt: `first`, doubling, at most `longest`."""
    delay: timedelta = first * 2 ** max(attempts - 1, 0)
    return min(delay, longest)


def abandoned(now: datetime, *, lease: timedelta) -> Q:
    """Rows whose worker died mid-send: claimed longer than `lease` ago and never settled."""
    return Q(state=SENDING, claimed_at__lt=now - lease)


def due(now: datetime, *, lease: timedelta) -> Q:
    """Rows a worker may claim now: pending and due, or abandoned."""
    return Q(state=PENDING, due_at__lte=now) | abandoned(now, lease=lease)


def waiting(now: datetime, *, lease: timedelta, requeue_after: timedelta) -> Q:
    """Rows a tick should hand to a worker: due and never handed out, or handed out so long
    ago (`requeue_after`) that the task must have been lost; or abandoned."""
    never_or_lost = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - requeue_after)
    return (Q(state=PENDING, due_at__lte=now) & never_or_lost) | abandoned(now, lease=lease)


def hand_out(
    outbox: QuerySet[Any],
    *fields: str,
    now: datetime,
    lease: timedelta,
    requeue_after: timedelta,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Take up to `limit` of the `waiting` rows of `outbox` (in its order) for workers, and
    stamp them handed out at `now`: (pk, *fields) of each. Rows another tick has locked are
    skipped, so two ticks at once hand out each row once.

    The caller holds a transaction, and enqueues the rows' tasks on its commit.
    """
    wanted = waiting(now, lease=lease, requeue_after=requeue_after)
    rows = list(
        outbox.select_for_update(skip_locked=True, of=("self",))
        .filter(wanted)
        .values_list("pk", *fields)[:limit]
    )
    if rows:
        # Back to pending (an abandoned row too), stamped as handed out: later ticks leave
        # them to the tasks enqueued now until `requeue_after` says those were lost.
        outbox.model._default_manager.filter(wanted, pk__in=[row[0] for row in rows]).update(
            state=PENDING, claimed_at=now
        )
    return rows


def claim(rows: QuerySet[Any], *, now: datetime) -> int:
    """Make `rows` this worker's, as of `now`, for one more attempt; how many. The caller has
    narrowed `rows` to those that are `due` (and locked them, or lets this UPDATE decide)."""
    return rows.update(state=SENDING, claimed_at=now, attempts=F("attempts") + 1)


def claim_next[M: Model](
    rows: QuerySet[M],
    *,
    clock: Callable[[], datetime],
    lease: timedelta,
    max_attempts: int,
    gave_up: Callable[[M], object],
) -> M | None:
    """The `due` row of `rows` due first (oldest first, then by pk), claimed as `claim` does
    and committed; None when every due row is held by another worker (skipped, not waited on).

    A row already tried `max_attempts` times, every attempt having died with its worker, is
    given up on the way (`gave_up` is told, in its transaction) and the next one taken.
    `clock` is read for each row tried.
    """
    while True:
        now = clock()
        with transaction.atomic():
            found = (
                rows.select_for_update(skip_locked=True)
                .filter(due(now, lease=lease))
                .order_by("due_at", "pk")
                .first()
            )
            if found is None:
                return None
            # The outbox's fields, which Model does not declare.
            row: Any = found
            if row.attempts < max_attempts:
                row.state = SENDING
                row.claimed_at = now
                row.attempts += 1
                row.save(update_fields=["state", "claimed_at", "attempts"])
                return found
            # A row that kills workers is not tried for ever.
            row.state = FAILED
            row.last_error = row.last_error or "no attempt finished: each died with its worker"
            row.save(update_fields=["state", "last_error"])
            gave_up(found)


def held[M: Model](rows: QuerySet[M], *, claimed_at: datetime | None) -> QuerySet[M]:
    """Those of `rows` still held by the claim stamped `claimed_at`: a row taken over by a
    rescuer after its lease bears the rescuer's stamp."""
    return rows.filter(state=SENDING, claimed_at=claimed_at)


def mark_sent(rows: QuerySet[Any]) -> int:
    """Settle `rows` (a `held` queryset) as sent; how many were still held."""
    return rows.update(state=SENT, sent_at=timezone.now(), last_error="")


def give_up(rows: QuerySet[Any], *, error: str) -> int:
    """Settle `rows` (a `held` queryset) as failed for good, saying why."""
    return rows.update(state=FAILED, last_error=error[:ERROR_LENGTH])


def retry_or_give_up(
    rows: QuerySet[Any],
    *,
    attempts: int,
    max_attempts: int,
    error: str,
    permanent: bool,
    retry_at: datetime,
) -> Literal["retry", "failed"]:
    """After a failed attempt on `rows` (a `held` queryset; `attempts` counts this one): back
    to pending, due at `retry_at`, or failed when no attempt can succeed or this was the last.
    """
    if permanent or attempts >= max_attempts:
        give_up(rows, error=error)
        return "failed"
    rows.update(state=PENDING, due_at=retry_at, claimed_at=None, last_error=error[:ERROR_LENGTH])
    return "retry"


def deliver(held_row: QuerySet[Any], send: Callable[[], object], *, what: str) -> Exception | None:
    """Send a claimed row with `send` and mark it sent (`held_row` is the row, `held`); the
    error if sending failed, the row left to the caller's `retry_or_give_up`."""
    try:
        send()
    except (smtplib.SMTPException, OSError, ValueError) as error:
        return error
    except Exception as error:
        # A bug or a mailer we do not know: counted like any failure, so the row still gives
        # up in time instead of waking a worker every lease.
        logger.exception("%s failed", what)
        return error
    if not mark_sent(held_row):
        logger.warning("%s was sent after its lease ran out", what)
    return None


def smtp_permanent(error: Exception) -> bool:
    """Whether another attempt cannot succeed: the server refused the recipient for good
    (5xx to RCPT), or the address could not be parsed."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # One recipient per message: this holds its RCPT reply.
        code, _reply = next(iter(error.recipients.values()), (0, b""))
        return 500 <= code < 600
    return isinstance(error, ValueError)


def smtp_error_text(error: Exception) -> str:
    """What a row keeps of a failed send: the server's own words where it answered."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (0, b""))
        return f"Recipient refused ({code}): {reply_text(reply)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP error {error.smtp_code}: {reply_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


def reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
