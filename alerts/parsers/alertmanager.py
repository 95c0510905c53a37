from typing import Any

from alerts.models import Integration
from alerts.parsers.base import AlertEvent, PayloadError


def parse(payload: Any, *, integration: Integration) -> list[AlertEvent]:
    raise PayloadError("placeholder: being written")
