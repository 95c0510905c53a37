"""Domain events: what other apps may react to, published only once the change is committed.

Subscribers register in their AppConfig.ready(); a subscriber only records its own rows and
enqueues tasks. Publishing goes through transaction.on_commit, so nothing reacts to a change
that rolled back.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from incidents.models import RoleKind, Status

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncidentEvent:
    incident_id: int
    actor_id: int | None
    # The timeline entry the change recorded, so a subscriber that speaks of it (a notice in
    # Slack) names that entry and not the newest one that looks alike. Keyword-only, so the
    # subclasses' own fields may come without defaults; left out of ==, as it says where the
    # change is written down, not what the change was.
    timeline_event_id: int | None = field(default=None, kw_only=True, compare=False)


@dataclass(frozen=True)
class IncidentDeclared(IncidentEvent):
    pass


@dataclass(frozen=True)
class IncidentStatusChanged(IncidentEvent):
    old_status: Status
    new_status: Status


@dataclass(frozen=True)
class IncidentAcknowledged(IncidentEvent):
    """acknowledged_at was first stamped: by an acknowledgement, or by a person moving the
    incident out of detected. Published once per incident; escalations stop on it."""


@dataclass(frozen=True)
class IncidentSeverityChanged(IncidentEvent):
    old_severity: str
    new_severity: str


@dataclass(frozen=True)
class IncidentRoleAssigned(IncidentEvent):
    role: RoleKind
    user_id: int


@dataclass(frozen=True)
class IncidentNoteAdded(IncidentEvent):
    """The note is the entry `timeline_event_id` names."""


@dataclass(frozen=True)
class IncidentUpdatePosted(IncidentEvent):
    status_update_id: int
    public: bool


@dataclass(frozen=True)
class IncidentResolved(IncidentEvent):
    pass


@dataclass(frozen=True)
class IncidentReopened(IncidentEvent):
    pass


@dataclass(frozen=True)
class IncidentMerged(IncidentEvent):
    survivor_id: int


@dataclass(frozen=True)
class IncidentDetailsChanged(IncidentEvent):
    """Fields edited directly (incident_update_details): any of EDITABLE_FIELDS and
    "services"."""

    fields: tuple[str, ...]


@dataclass(frozen=True)
class IncidentRespondersAdded(IncidentEvent):
    """People paged for the incident became its participants (they may now see it)."""

    user_ids: tuple[int, ...]


Handler = Callable[[Any], None]

_subscribers: dict[type[IncidentEvent], list[Handler]] = defaultdict(list)


def subscribe[E: IncidentEvent](event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def unsubscribe[E: IncidentEvent](event_type: type[E], handler: Callable[[E], None]) -> None:
    if handler in _subscribers[event_type]:
        _subscribers[event_type].remove(handler)


def publish(event: IncidentEvent) -> None:
    """Deliver `event` to its subscribers after the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event))


def _dispatch(event: IncidentEvent) -> None:
    for handler in list(_subscribers[type(event)]):
        # One failing subscriber must not keep the others from hearing of the change.
        try:
            handler(event)
        except Exception:
            logger.exception("subscriber %r failed on %r", handler, event)
