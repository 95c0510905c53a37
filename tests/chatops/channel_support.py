"""Driving the Slack outbox by hand in the channel tests: the test is the worker.

Rows are handed out as the tick does (`calls_dispatch_due`) and sent with `call_send`, one by
one; time is the `clock` fixture's, moved on to the next due row rather than slept through.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from chatops.models import CallState, SlackCall
from chatops.services import outbox
from tests.clock import Clock


def work(clock: Clock, *, within: timedelta = timedelta(seconds=30), rounds: int = 50) -> None:
    """Send everything due, moving the clock on to rows due within `within` (a NotReady wait,
    a Retry-After), until nothing is left that soon."""
    for _ in range(rounds):
        outbox.calls_dispatch_due(enqueue=lambda ids: None)
        queued = list(SlackCall.objects.filter(state=CallState.QUEUED).values_list("pk", flat=True))
        for call_id in queued:
            outbox.call_send(call_id=call_id)
        if queued:
            continue
        upcoming = (
            SlackCall.objects.filter(state=CallState.PENDING, due_at__lte=timezone.now() + within)
            .order_by("due_at")
            .first()
        )
        if upcoming is None:
            return
        clock.now = max(clock.now, upcoming.due_at)
    raise AssertionError("the outbox never settled")


def work_once() -> None:
    """One beat: send what is due now, and no more."""
    outbox.calls_dispatch_due(enqueue=lambda ids: None)
    for call_id in SlackCall.objects.filter(state=CallState.QUEUED).values_list("pk", flat=True):
        outbox.call_send(call_id=call_id)
