from datetime import datetime
from typing import Any

from alerts.models import Integration
from alerts.parsers.base import AlertEvent, PayloadError


def parse(payload: Any, *, integration: Integration, received_at: datetime) -> list[AlertEvent]:
    raise PayloadError("placeholder: being written")
