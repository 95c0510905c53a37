"""What Slack sent us, stored first and processed from the row, exactly once.

Slack retries an event it thinks we missed (same event_id, X-Slack-Retry-Num); the unique key
turns a retry into a no-op. Processing claims the row with a conditional UPDATE, so two workers
never process it twice; a row whose task was lost (Redis restarted, a worker killed) is handed
out again by the tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from chatops.models import InboundKind, InboundRequest

logger = logging.getLogger(__name__)

# Processors per kind: events by their event type, interactions by action id or callback id.
Processor = Callable[[InboundRequest], None]
Enqueue = Callable[[list[int]], None]
_processors: dict[InboundKind, Processor] = {}

MAX_ATTEMPTS = 5
# A row claimed longer ago than this is presumed lost with its worker.
PROCESSING_LEASE = timedelta(seconds=120)
# A row nobody claimed within this long lost its task (Redis restarted).
REQUEUE_AFTER = timedelta(seconds=30)


def register_processor(kind: InboundKind, processor: Processor) -> None:
    _processors[kind] = processor


def inbound_store(*, key: str, kind: InboundKind, payload: dict[str, Any]) -> InboundRequest | None:
    """Store a request from Slack; None when it was stored before (a retry), counted and dropped.

    The task that processes it is enqueued after commit.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            inbound = InboundRequest.objects.create(
                key=key[:200], kind=kind, payload=payload, received_at=now
            )
    except IntegrityError:
        InboundRequest.objects.filter(key=key[:200]).update(retries=F("retries") + 1)
        logger.info("dropped Slack's retry of %s %s", kind, key)
        return None
    transaction.on_commit(lambda: _enqueue([inbound.pk]), robust=True)
    return inbound


def _enqueue(ids: list[int]) -> None:
    from chatops import tasks

    for inbound_id in ids:
        tasks.process_inbound.delay(inbound_id)


def inbound_process(*, inbound_id: int) -> str:
    """Act on one stored request, once. Returns "processed", "retry", "failed" or "skipped"."""
    now = timezone.now()
    claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - PROCESSING_LEASE)
    claimed = (
        InboundRequest.objects.filter(pk=inbound_id, processed_at__isnull=True)
        .filter(claimable)
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    inbound = InboundRequest.objects.get(pk=inbound_id)
    processor = _processors.get(InboundKind(inbound.kind))
    try:
        if processor is not None:
            processor(inbound)
    except Exception as error:
        logger.exception("processing Slack %s %s failed", inbound.kind, inbound.key)
        give_up = inbound.attempts >= MAX_ATTEMPTS
        InboundRequest.objects.filter(pk=inbound.pk, claimed_at=now).update(
            # Left unclaimed, for the tick to hand out again after a backoff.
            claimed_at=None if not give_up else now,
            retry_at=now + timedelta(seconds=5 * 2**inbound.attempts),
            processed_at=now if give_up else None,
            error=repr(error)[:1000],
        )
        return "failed" if give_up else "retry"
    InboundRequest.objects.filter(pk=inbound.pk).update(processed_at=timezone.now(), error="")
    return "processed"


def inbound_rescue(*, now: datetime | None = None, enqueue: Enqueue | None = None) -> list[int]:
    """Hand out again requests whose task was lost or whose worker died.

    Each is handed out once per REQUEUE_AFTER (its `retry_at` moves on), so a backlog the
    workers are still working through is not flooded with a duplicate task every tick.
    """
    now = now or timezone.now()
    lost = Q(claimed_at__isnull=True, received_at__lt=now - REQUEUE_AFTER) & (
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )
    dead = Q(claimed_at__lt=now - PROCESSING_LEASE) & (
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )
    with transaction.atomic():
        ids = list(
            InboundRequest.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True)
            .filter(lost | dead)
            .order_by("received_at")
            .values_list("pk", flat=True)[:200]
        )
        if ids:
            InboundRequest.objects.filter(pk__in=ids).update(retry_at=now + REQUEUE_AFTER)
    if ids:
        logger.warning("re-enqueued %d unprocessed Slack requests", len(ids))
        (enqueue or _enqueue)(ids)
    return ids
