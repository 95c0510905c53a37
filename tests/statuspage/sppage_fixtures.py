"""Status page rows written with the ORM, for the page and uptime tests (sppage's helpers:
the services that write them in production live in statuspage.services)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from incidents.models import StatusPageImpact
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentState,
    ComponentStateChange,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from tests.factories import ServiceFactory, declare


def component(
    name: str,
    *,
    group: ComponentGroup | None = None,
    position: int = 0,
    state: str = ComponentState.OPERATIONAL,
    created_at: datetime | None = None,
    public: bool = True,
) -> Component:
    """A component of a public service, in `state` since it was created (one open span),
    whether or not saving a public service already made it (statuspage.services.components_sync)."""
    created_at = created_at or timezone.now()
    made, _ = Component.objects.update_or_create(
        service=ServiceFactory(name=name, public=public),
        defaults={
            "group": group,
            "position": position,
            "state": state,
            "state_since": created_at,
            "created_at": created_at,
        },
    )
    ComponentStateChange.objects.filter(component=made).delete()
    ComponentStateChange.objects.create(component=made, state=state, started_at=created_at)
    return made


def spans(made: Component, *steps: tuple[str, datetime]) -> Component:
    """Replaces the component's spans by one per step, each lasting until the next; the last
    stays open and is the component's state. The component exists from the first step on."""
    ComponentStateChange.objects.filter(component=made).delete()
    for (state, start), following in zip(steps, [*steps[1:], None], strict=True):
        ComponentStateChange.objects.create(
            component=made,
            state=state,
            started_at=start,
            ended_at=following[1] if following else None,
        )
    made.state, made.state_since = steps[-1]
    made.created_at = steps[0][1]
    made.save(update_fields=["state", "state_since", "created_at"])
    return made


def incident(
    name: str,
    *,
    components: Sequence[Component] = (),
    impact: str = StatusPageImpact.MAJOR,
    updates: Sequence[tuple[str, str, datetime]] = (),
    resolved_at: datetime | None = None,
    created_at: datetime | None = None,
    **kwargs: Any,
) -> PublicIncident:
    """A published incident with its public updates (status, body, time), oldest first."""
    created_at = created_at or (updates[0][2] if updates else timezone.now())
    last = updates[-1] if updates else (PublicStatus.INVESTIGATING, "", created_at)
    made = PublicIncident.objects.create(
        incident=declare(title=f"internal: {name}"),
        name=name,
        status=PublicStatus.RESOLVED if resolved_at else last[0],
        impact=impact,
        started_at=created_at,
        created_at=created_at,
        updated_at=last[2],
        resolved_at=resolved_at,
        **kwargs,
    )
    made.components.set(components)
    for status, body, at in updates:
        PublicUpdate.objects.create(public_incident=made, status=status, body=body, created_at=at)
    return made


def maintenance(
    name: str,
    *,
    scheduled_for: datetime,
    scheduled_until: datetime,
    status: str = MaintenanceStatus.SCHEDULED,
    components: Sequence[Component] = (),
    message: str = "",
) -> Maintenance:
    made = Maintenance.objects.create(
        name=name,
        message=message or f"{name}: we will keep you posted.",
        status=status,
        scheduled_for=scheduled_for,
        scheduled_until=scheduled_until,
        started_at=scheduled_for if status != MaintenanceStatus.SCHEDULED else None,
        created_at=scheduled_for,
        updated_at=scheduled_for,
    )
    made.components.set(components)
    MaintenanceUpdate.objects.create(
        maintenance=made, status=status, body=made.message, created_at=scheduled_for
    )
    return made
