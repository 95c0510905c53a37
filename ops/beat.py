"""Celery beat's scheduler, which also says beat is alive (a heartbeat row, see ops/models.py).

Beat runs no tasks, so the queues' heartbeats cannot speak for it: a dead beat and a dead
worker look alike from the queue side. It writes its own row, between ticks.
"""

import logging
import socket
import time
from typing import Any

from celery.beat import Scheduler
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from ops.models import HeartbeatKind
from ops.services import heartbeat_record

logger = logging.getLogger(__name__)


class HeartbeatScheduler(Scheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_heartbeat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + settings.HEARTBEAT_INTERVAL
            # Beat serves no requests, whose boundaries would drop a broken connection.
            close_old_connections()
            try:
                heartbeat_record(
                    kind=HeartbeatKind.BEAT, name="beat", hostname=socket.gethostname()
                )
            except DatabaseError:
                # The database being down is on every page already; beat goes on sending
                # ticks, which the workers will fail on just as loudly.
                logger.warning("beat could not record its heartbeat", exc_info=True)
        wait: float = super().tick(*args, **kwargs)
        return min(wait, max(self._next_heartbeat - time.monotonic(), 0.0))
