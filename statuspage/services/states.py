"""Each component's state, derived from what affects it, and the spans that record it.

A component's state is the worst (models.STATE_RANK) of:
- each open, published, non-withdrawn public incident affecting it: the communications lead's
  override for that incident and component if there is one, else the incident's impact
  through models.IMPACT_STATE;
- under maintenance, while a maintenance including it is in progress.
Nothing affecting it: operational.

The derivation reads statuspage's own rows only (the subscribers keep them in step with the
incidents), so it is the same whoever runs it: the subscribers after a change, the tick as a
catch-up, a publication inside its own transaction.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from statuspage import versions
from statuspage.models import (
    IMPACT_STATE,
    STATE_RANK,
    Component,
    ComponentOverride,
    ComponentState,
    ComponentStateChange,
    Maintenance,
    MaintenanceStatus,
    PublicIncident,
)
from statuspage.subscriptions.services import notify_component_changes

# A maintenance shows its components under maintenance in these statuses.
MAINTENANCE_ACTIVE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


@dataclass(frozen=True)
class StateMove:
    """A component's state changed from `old` to `new` at `at`."""

    component_id: int
    code: str
    name: str
    old: str
    new: str
    at: datetime

    def as_affected(self) -> dict[str, str]:
        """Statuspage's affected_components entry."""
        return {
            "code": self.code,
            "name": self.name,
            "old_status": self.old,
            "new_status": self.new,
        }


def _worst(states: list[str]) -> str:
    return max(states, key=STATE_RANK.__getitem__, default=ComponentState.OPERATIONAL)


def states_derive() -> dict[int, str]:
    """The state each affected component should be in, by component id; a component not
    named is operational. Four queries, whatever the number of incidents."""
    affecting: dict[int, list[str]] = defaultdict(list)
    incidents = PublicIncident.objects.filter(withdrawn=False, resolved_at__isnull=True)
    impact = dict(incidents.values_list("pk", "impact"))
    overrides = {
        (public_incident_id, component_id): state
        for public_incident_id, component_id, state in ComponentOverride.objects.filter(
            public_incident_id__in=impact
        ).values_list("public_incident_id", "component_id", "state")
    }
    links = PublicIncident.components.through.objects.filter(publicincident_id__in=impact)
    for public_incident_id, component_id in links.values_list("publicincident_id", "component_id"):
        state = overrides.get((public_incident_id, component_id))
        if state is None:
            state = IMPACT_STATE[impact[public_incident_id]]
        affecting[component_id].append(state)
    maintained = Maintenance.components.through.objects.filter(
        maintenance__status__in=MAINTENANCE_ACTIVE
    ).values_list("component_id", flat=True)
    for component_id in maintained:
        affecting[component_id].append(ComponentState.UNDER_MAINTENANCE)
    return {component_id: _worst(states) for component_id, states in affecting.items()}


def states_recompute(*, now: datetime | None = None, quick: bool = False) -> list[StateMove]:
    """Bring every component's state in line with what affects it; the moves made.

    Idempotent: with nothing changed it writes nothing. A move closes the component's open
    span and opens the next at `now`, bumps the page's version, and queues the change for the
    webhook subscribers (statuspage.subscriptions). Components are locked
    (in id order, so two recomputes cannot deadlock) before the derivation is read, so two
    recomputes racing write each move once: the second reads what the first committed.

    `quick` first compares without locking and returns if nothing differs: only for a
    caller that changed nothing itself (the tick). A write path must not: its unlocked
    read misses another transaction's uncommitted moves, so it could find "nothing to do"
    where the other's commit then leaves a wrong state (one resolving incident A moves a
    component to operational while this one publishes incident B on it).
    """
    now = now or timezone.now()
    # Most ticks find nothing to do: say so without locking anything.
    if quick and not _differs(states_derive()):
        return []
    with transaction.atomic():
        components = list(
            Component.objects.select_for_update(of=("self",))
            .select_related("service")
            .order_by("pk")
        )
        targets = states_derive()
        moves = [
            _move(component, targets.get(component.pk, ComponentState.OPERATIONAL), now=now)
            for component in components
            if targets.get(component.pk, ComponentState.OPERATIONAL) != component.state
        ]
        if moves:
            versions.bump()
            # Here, the one place every move is made, so no caller can forget to tell the
            # webhook subscribers; the rows commit with the moves.
            notify_component_changes(component_ids=[move.component_id for move in moves], now=now)
    return moves


def _differs(targets: dict[int, str]) -> bool:
    not_operational = dict(
        Component.objects.exclude(state=ComponentState.OPERATIONAL).values_list("pk", "state")
    )
    named = {pk: state for pk, state in targets.items() if state != ComponentState.OPERATIONAL}
    return named != not_operational


def _move(component: Component, state: str, *, now: datetime) -> StateMove:
    """Close the open span and open one in `state`. Caller holds the component's row lock."""
    old = component.state
    # A span never ends before it started, even when `now` lags the last move (a tick
    # carrying the time it was sent, a clock a little behind another worker's).
    at = max(now, component.state_since)
    ComponentStateChange.objects.filter(component=component, ended_at__isnull=True).update(
        ended_at=at
    )
    ComponentStateChange.objects.create(component=component, state=state, started_at=at)
    component.state = state
    component.state_since = at
    component.save(update_fields=["state", "state_since", "updated_at"])
    return StateMove(
        component_id=component.pk,
        code=component.code,
        name=str(component),
        old=old,
        new=state,
        at=at,
    )
