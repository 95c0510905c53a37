"""Acting on a Slack request once, even when two workers run its task at the same moment.

A task can run twice (a retry, a rescue, a lost lease), and both runs can be in flight
together, so "look for the answer first" is not enough. Here the answer's outbox row is
inserted with a plain INSERT *before* acting, in the same transaction as the action: a second
run blocks on that row's unique key until the first commits, then fails the insert and acts
not at all. If the first run rolls back (a service refused), its row goes with it and the
second run is free to try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chatops.models import SlackCall
from chatops.services import outbox


@dataclass(frozen=True)
class Answer:
    """The outbox row's payload that tells the person how it went (as its sender takes it)."""

    payload: dict[str, Any]
    incident_id: int | None = None


def act_once(*, kind: str, key: str, act: Callable[[], Answer]) -> bool:
    """Run `act` and queue its answer (an outbox row of `kind`, keyed `key`) in one transaction,
    at most once per key. False when another run of the same work got there first.

    Whatever `act` raises propagates, with nothing it did kept.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                answer = SlackCall.objects.create(
                    key=key, kind=kind, payload={}, due_at=now, created_at=now, wanted_at=now
                )
        except IntegrityError:
            return False
        done = act()
        answer.payload = done.payload
        answer.incident_id = done.incident_id
        answer.save(update_fields=["payload", "incident"])
        transaction.on_commit(lambda: outbox.calls_dispatch_due(keys=[key]), robust=True)
    return True
