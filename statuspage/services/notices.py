"""The seam where subscribers will be told of maintenance (issue 15, item 7).

Each maintenance event worth telling subscribers of (scheduled, 60 minutes before, started,
completed, cancelled) calls `maintenance_notice` inside the transaction that made it happen,
exactly once per event (the timers and the maintenance's status see to that). The subscriber
outbox is not built yet: until it is, the event is recorded in the log only. When it lands,
this function queues one outbox row per subscriber, keyed by maintenance and event, in the
same transaction.
"""

import logging
from datetime import datetime
from enum import StrEnum

from statuspage.models import Maintenance

logger = logging.getLogger(__name__)


class MaintenanceEvent(StrEnum):
    SCHEDULED = "scheduled"
    REMINDER = "reminder_60"
    STARTED = "started"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def maintenance_notice(*, maintenance: Maintenance, event: MaintenanceEvent, now: datetime) -> None:
    logger.info(
        "status page: maintenance %s %s at %s (subscriber notices not built yet)",
        maintenance.code,
        event.value,
        now.isoformat(),
    )
