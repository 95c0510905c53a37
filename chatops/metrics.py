"""The outbox on /metrics: how many calls wait, and what Slack made of those sent.

Read at scrape time (ops.metrics.register_gauge), one aggregate query per gauge.
"""

from collections.abc import Sequence

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from chatops.models import CallState, SlackCall
from ops.metrics import register_gauge

# The outbox's depth: rows not yet done with. Every one is reported, 0 included, so a graph
# of a state does not vanish when it empties.
WAITING = (CallState.PENDING, CallState.QUEUED, CallState.SENDING)


def outbox_depth() -> list[tuple[Sequence[str], float]]:
    counts = dict(
        SlackCall.objects.filter(state__in=WAITING)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [((state.value,), counts.get(state.value, 0)) for state in WAITING]


def call_outcomes() -> list[tuple[Sequence[str], float]]:
    """Calls Slack accepted, answered 429, or failed (each failed attempt), over every row."""
    totals = SlackCall.objects.aggregate(
        sent=Coalesce(Sum("sends"), 0),
        rate_limited=Coalesce(Sum("rate_limits"), 0),
        failed=Coalesce(Sum("failures"), 0),
    )
    return [((outcome,), totals[outcome]) for outcome in ("sent", "rate_limited", "failed")]


def connect() -> None:
    register_gauge(
        "slack_outbox",
        name="tocsin_slack_outbox",
        documentation="Slack calls waiting to be made, by state (pending, queued, sending).",
        labels=("state",),
        read=outbox_depth,
    )
    register_gauge(
        "slack_calls",
        name="tocsin_slack_calls",
        documentation=(
            "Slack calls made, by outcome: sent (accepted), rate_limited (429), failed "
            "(attempts that failed, retried or not); sums over the outbox."
        ),
        labels=("outcome",),
        read=call_outcomes,
    )
