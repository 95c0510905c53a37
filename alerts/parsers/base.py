from dataclasses import dataclass, field
from datetime import datetime

from alerts.models import AlertStatus


class PayloadError(Exception):
    """The payload is JSON but not of the source's format; answered with 422 (or 400)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


@dataclass(frozen=True)
class AlertEvent:
    """One alert's state as a source reported it."""

    dedup_key: str
    status: AlertStatus
    title: str
    starts_at: datetime
    # The source's time of this state: startsAt when firing, endsAt when resolved.
    event_at: datetime
    ends_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    source_url: str = ""
    severity_hint: str = ""
