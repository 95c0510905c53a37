"""The outbox: every call Tocsin makes to Slack is a `SlackCall` row first, sent by a task.

Adding a row never talks to Slack, so declaring, paging and resolving never wait for it. The
beat tick hands due rows to workers (pending -> queued); a send claims its row (queued ->
sending) with a conditional UPDATE, so two workers never send the same row. Rows stuck in
queued or sending (a task lost with Redis, a worker killed) are handed out again after a
lease. A 429 waits as long as Slack asks, on that row only, and is no attempt; 5xx and
timeouts back off; a row gives up SLACK_GIVE_UP_AFTER after it was wanted, so Slack down for an
hour catches up when it returns. Without a token rows wait, untouched, until one is set.

Sending is at least once, not exactly once: a worker killed after Slack accepted a call but
before the row says so leaves it to be sent again after the lease.

Senders are registered per `kind` by the modules that know what to say
(`register_sender`); each gets the row and a WebClient, returns what later calls need (a
channel id, a ts) or raises SlackFailure, or NotReady when it must wait for another row (a
notice waiting for its channel).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, SmallIntegerField, Value, When
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops.client import SlackFailure, failure_from, slack_client, slack_configured
from chatops.models import CallState, SlackCall

logger = logging.getLogger(__name__)

Sender = Callable[[SlackCall, WebClient], dict[str, Any] | None]
Enqueue = Callable[[list[int]], None]

_senders: dict[str, Sender] = {}

FINISHED = (CallState.SENT, CallState.FAILED, CallState.CANCELLED)


class NotReady(Exception):
    """The call must wait for another (a notice for a channel not created yet)."""

    def __init__(self, reason: str, *, wait: float = 2.0) -> None:
        super().__init__(reason)
        self.wait = wait


class Cancel(Exception):
    """The call is no longer wanted (the incident was deleted, the channel archived for good)."""


def register_sender(kind: str, sender: Sender) -> None:
    _senders[kind] = sender


def _enqueue(ids: list[int]) -> None:
    # Lazily: tasks import the services, and the services only hand work to them.
    from chatops import tasks

    for call_id in ids:
        tasks.send_call.delay(call_id)


def call_add(
    *,
    kind: str,
    key: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    due_at: datetime | None = None,
) -> None:
    """Send this once: a second call_add with the same key does nothing."""
    now = timezone.now()
    SlackCall.objects.bulk_create(
        [
            SlackCall(
                key=key,
                kind=kind,
                incident_id=incident_id,
                payload=payload or {},
                due_at=due_at or now,
                created_at=now,
                # A reminder due tomorrow starts its give-up clock tomorrow.
                wanted_at=max(due_at or now, now),
            )
        ],
        ignore_conflicts=True,
    )
    if due_at is None or due_at <= now:
        _dispatch_key_after_commit(key)


def call_refresh(
    *,
    kind: str,
    key: str,
    incident_id: int | None = None,
    payload: dict[str, Any] | None = None,
    delay: float = 0.0,
) -> None:
    """Bring this up to date in Slack: send it (again) with the latest state.

    Refreshes that arrive while the row waits collapse into its one send; one that arrives while
    it is being sent makes it go once more afterwards.
    """
    now = timezone.now()
    due_at = now + timedelta(seconds=delay)
    finished = Q(state__in=FINISHED)
    fields: dict[str, Any] = {
        "wanted": F("wanted") + 1,
        "state": Case(When(finished, then=Value(CallState.PENDING)), default=F("state")),
        "due_at": Case(When(finished, then=Value(due_at)), default=F("due_at")),
        # Without output_field Django refuses to mix the literal 0 with a small-integer column:
        # every refresh of an existing row failed.
        "attempts": Case(
            When(finished, then=Value(0)), default=F("attempts"), output_field=SmallIntegerField()
        ),
        # A row sent yesterday that Slack refuses today has been failing for seconds, not a day.
        "wanted_at": Case(When(finished, then=Value(due_at)), default=F("wanted_at")),
    }
    if payload is not None:
        fields["payload"] = payload
    if not SlackCall.objects.filter(key=key).update(**fields):
        SlackCall.objects.bulk_create(
            [
                SlackCall(
                    key=key,
                    kind=kind,
                    incident_id=incident_id,
                    payload=payload or {},
                    due_at=due_at,
                    created_at=now,
                    wanted_at=due_at,
                )
            ],
            ignore_conflicts=True,
        )
    if delay <= 0:
        _dispatch_key_after_commit(key)


def _dispatch_key_after_commit(key: str) -> None:
    # Sent at once rather than at the next tick, so a channel appears within seconds.
    def dispatch() -> None:
        calls_dispatch_due(keys=[key])

    transaction.on_commit(dispatch, robust=True)


def calls_dispatch_due(
    *,
    now: datetime | None = None,
    limit: int = 500,
    enqueue: Enqueue = _enqueue,
    keys: list[str] | None = None,
) -> list[int]:
    """Hand due rows to the workers: pending -> queued, enqueued after commit.

    Without a token nothing is handed out: the rows wait, untouched, and go once it is set
    (rather than each waking a worker every minute to find Slack still unconfigured).
    """
    if not slack_configured():
        return []
    now = now or timezone.now()
    due = SlackCall.objects.filter(state=CallState.PENDING, due_at__lte=now)
    if keys is not None:
        due = due.filter(key__in=keys)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            SlackCall.objects.filter(pk__in=ids).update(state=CallState.QUEUED, queued_at=now)
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return ids


def calls_rescue_stuck(*, now: datetime | None = None, enqueue: Enqueue = _enqueue) -> list[int]:
    """Hand out again rows whose task was lost (Redis restarted) or whose worker died."""
    now = now or timezone.now()
    lost = Q(
        state=CallState.QUEUED, queued_at__lt=now - timedelta(seconds=settings.SLACK_REQUEUE_AFTER)
    )
    dead = Q(
        state=CallState.SENDING, claimed_at__lt=now - timedelta(seconds=settings.SLACK_CALL_LEASE)
    )
    with transaction.atomic():
        ids = list(
            SlackCall.objects.select_for_update(skip_locked=True)
            .filter(lost | dead)
            .values_list("pk", flat=True)[:500]
        )
        if ids:
            SlackCall.objects.filter(pk__in=ids).update(state=CallState.QUEUED, queued_at=now)
            logger.warning("re-enqueued %d stuck Slack calls", len(ids))
            transaction.on_commit(lambda: enqueue(ids), robust=True)
    return ids


def call_send(*, call_id: int, client: WebClient | None = None) -> str:
    """Make one call. Safe to run twice: only the run that claims the row sends.

    Returns what became of it: "sent", "retry", "waiting", "failed", "cancelled" or "skipped".
    """
    now = timezone.now()
    claimed = SlackCall.objects.filter(
        pk=call_id, state__in=(CallState.QUEUED, CallState.PENDING), due_at__lte=now
    ).update(state=CallState.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    call = SlackCall.objects.get(pk=call_id)
    sender = _senders.get(call.kind)
    if sender is None:
        # A row added by newer code than this worker's (a deploy under way): another worker
        # will know it. Retried, and given up in time if none ever does.
        return _failed(call, SlackFailure("no_sender", f"no sender for {call.kind!r}"))
    if not slack_configured():
        # Kept, not failed: an admin who sets the token later sees Slack catch up.
        _retry_later(
            call, wait=60, error="Slack is not configured: set SLACK_BOT_TOKEN", count=False
        )
        return "waiting"
    try:
        result = sender(call, client or slack_client())
    except NotReady as waiting:
        if _too_old(call):
            # What it waits for never came (the channel could not be created): without this
            # the row would wake a worker every few seconds for ever.
            _finish(call, state=CallState.FAILED, error=f"gave up waiting: {waiting}", failures=1)
            return "failed"
        _retry_later(call, wait=waiting.wait, error=str(waiting), count=False)
        return "waiting"
    except Cancel as cancelled:
        _finish(call, state=CallState.CANCELLED, error=str(cancelled))
        return "cancelled"
    except (SlackApiError, SlackClientError, OSError) as error:
        return _failed(call, failure_from(error))
    except SlackFailure as failure:
        return _failed(call, failure)
    except Exception as error:
        # A bug or an answer we could not read: count it, so the row still gives up in time.
        logger.exception("Slack call %s (%s) failed", call.pk, call.kind)
        return _failed(call, SlackFailure("unexpected", repr(error)[:300]))
    with transaction.atomic():
        # Sent again at once if a refresh came in while this one was on its way.
        more = Q(wanted__gt=call.wanted)
        ours = _claimed(call).update(
            state=Case(When(more, then=Value(CallState.PENDING)), default=Value(CallState.SENT)),
            due_at=timezone.now(),
            done=call.wanted,
            sent_at=timezone.now(),
            result=result if result is not None else call.result,
            sends=F("sends") + 1,
            last_error="",
        )
        if ours:
            _dispatch_key_after_commit(call.key)
    if not ours:
        logger.warning("Slack call %s was sent after its lease ran out", call.pk)
    return "sent"


def _claimed(call: SlackCall) -> QuerySet[SlackCall]:
    """The row, as long as this send's claim on it still holds."""
    return SlackCall.objects.filter(pk=call.pk, state=CallState.SENDING, claimed_at=call.claimed_at)


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff (2 s, 4 s, 8 s …, at most 5 min), or as long as Slack asks."""
    if retry_after is not None:
        return max(retry_after, 1.0)
    return float(min(2 ** max(attempts, 1), 300))


def _too_old(call: SlackCall) -> bool:
    return call.wanted_at < timezone.now() - timedelta(seconds=settings.SLACK_GIVE_UP_AFTER)


def _failed(call: SlackCall, failure: SlackFailure) -> str:
    if failure.rate_limited:
        # Slack's limit, not a fault: it neither counts as an attempt nor makes the row give
        # up; the row waits as long as Slack asks, and only this row does.
        wait = retry_delay(0, failure.retry_after or 1.0)
        _retry_later(call, wait=wait, error=str(failure), count=False, rate_limited=True)
        return "retry"
    if failure.permanent or _too_old(call):
        logger.warning("Slack call %s (%s) failed: %s", call.pk, call.kind, failure)
        _finish(call, state=CallState.FAILED, error=str(failure), failures=1)
        return "failed"
    if failure.misconfigured:
        logger.error("Slack refused our token; retrying until it is fixed: %s", failure)
    _retry_later(call, wait=retry_delay(call.attempts, None), error=str(failure), failed=True)
    return "retry"


def _retry_later(
    call: SlackCall,
    *,
    wait: float,
    error: str,
    count: bool = True,
    rate_limited: bool = False,
    failed: bool = False,
) -> None:
    _claimed(call).update(
        state=CallState.PENDING,
        due_at=timezone.now() + timedelta(seconds=wait),
        last_error=error[:1000],
        attempts=F("attempts") if count else F("attempts") - 1,
        rate_limits=F("rate_limits") + int(rate_limited),
        failures=F("failures") + int(failed),
    )


def _finish(call: SlackCall, *, state: CallState, error: str, failures: int = 0) -> None:
    _claimed(call).update(state=state, last_error=error[:1000], failures=F("failures") + failures)


def tick(*, now: datetime | None = None) -> None:
    """The beat's work: hand out due rows and rescue stuck ones."""
    calls_dispatch_due(now=now)
    calls_rescue_stuck(now=now)
