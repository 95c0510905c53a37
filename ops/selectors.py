from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError

from ops.models import Heartbeat, HeartbeatKind


@dataclass(frozen=True)
class HeartbeatStatus:
    kind: str
    name: str
    hostname: str
    seen_at: datetime | None
    age_seconds: float  # inf when never seen
    fresh: bool

    @property
    def label(self) -> str:
        return "beat" if self.kind == HeartbeatKind.BEAT else f"{self.name} queue"


def expected_heartbeats() -> list[tuple[HeartbeatKind, str]]:
    """Beat, and every queue a worker must consume: each must keep its heartbeat fresh."""
    return [(HeartbeatKind.BEAT, "beat")] + [
        (HeartbeatKind.QUEUE, queue) for queue in settings.WORKER_QUEUES
    ]


def heartbeats_status(*, now: datetime) -> list[HeartbeatStatus]:
    seen = {(row.kind, row.name): row for row in Heartbeat.objects.all()}
    stale_after = timedelta(seconds=settings.HEARTBEAT_STALE_AFTER)
    found = []
    for kind, name in expected_heartbeats():
        row = seen.get((kind, name))
        if row is None:
            found.append(HeartbeatStatus(kind, name, "", None, float("inf"), False))
            continue
        age = max((now - row.seen_at).total_seconds(), 0.0)
        fresh = now - row.seen_at <= stale_after
        found.append(HeartbeatStatus(kind, name, row.hostname, row.seen_at, age, fresh))
    return found


class BrokerUnavailable(Exception):
    pass


def queue_lengths() -> dict[str, int]:
    """Tasks waiting in each worker queue, asked of the broker. Raises BrokerUnavailable."""
    app = current_app
    with app.connection_for_read() as conn:
        errors: tuple[type[BaseException], ...] = (
            KombuOperationalError,
            *conn.connection_errors,
            *conn.channel_errors,
        )
        try:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            channel: Any = conn.default_channel
            lengths = {}
            for queue in settings.WORKER_QUEUES:
                try:
                    lengths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except tuple(conn.channel_errors):
                    lengths[queue] = 0  # never declared: nothing ever waited in it
            return lengths
        except errors as exc:
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc
