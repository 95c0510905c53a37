"""Which event handles which Events API event type: a registry the feature modules fill in.

Events are stored by event_id when they arrive (chatops.services.inbound) and handled here, in
a task, from the row.
"""

from collections.abc import Callable
from typing import Any

from chatops.models import InboundRequest

# handler(event, envelope): `event` is the envelope's "event"; the envelope carries
# event_id, event_time, team_id.
EventHandler = Callable[[dict[str, Any], dict[str, Any]], None]

_handlers: dict[str, EventHandler] = {}


def register_event(event_type: str, handler: EventHandler) -> None:
    _handlers[event_type] = handler


def event_handled(event_type: str) -> bool:
    """Whether anything handles this event type; others are not worth a row."""
    return event_type in _handlers


def process_event(inbound: InboundRequest) -> None:
    envelope = inbound.payload
    event = envelope.get("event") or {}
    handler = _handlers.get(str(event.get("type", "")))
    if handler is not None:
        handler(event, envelope)
