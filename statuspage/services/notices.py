"""Subscribers hear of maintenance through here.

Each maintenance event worth telling subscribers of (scheduled, 60 minutes before, started,
completed, cancelled, rescheduled, extended) calls `maintenance_notice` inside the
transaction that made it happen, at most once per event (the timers and the maintenance's
status see to that; a reminder or start fired too late to be true is not told). It queues one
outbox row per subscriber concerned, keyed by maintenance and event (statuspage.subscriptions),
in the same transaction.
"""

import logging
from datetime import datetime
from enum import StrEnum

from statuspage.models import Maintenance
from statuspage.subscriptions.services import notify_maintenance

logger = logging.getLogger(__name__)


class MaintenanceEvent(StrEnum):
    SCHEDULED = "scheduled"
    REMINDER = "reminder_60"
    STARTED = "started"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    # A window moved before it started, or a window in progress made to end later: each time
    # it happens, told once (keyed by its update).
    RESCHEDULED = "rescheduled"
    EXTENDED = "extended"
    # A manager's posted update, and new components under maintenance: each told once too.
    UPDATED = "updated"
    COMPONENTS_CHANGED = "changed"


def maintenance_notice(
    *, maintenance: Maintenance, event: MaintenanceEvent, now: datetime, occurrence: str = ""
) -> None:
    queued = notify_maintenance(
        maintenance_id=maintenance.pk, event=event.value, now=now, occurrence=occurrence
    )
    logger.info(
        "status page: maintenance %s %s at %s, %d notifications queued",
        maintenance.code,
        event.value,
        now.isoformat(),
        queued,
    )
