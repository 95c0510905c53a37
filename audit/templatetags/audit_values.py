import json
from datetime import datetime
from typing import Any

from django import template

register = template.Library()


@register.filter
def is_datetime(value: Any) -> bool:
    return isinstance(value, datetime)


@register.filter
def shown(value: Any) -> str:
    """A recorded value as text: strings as they are, the rest (lists, maps, numbers) as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
