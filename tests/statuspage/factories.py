"""Helpers for the status page's tests: incidents moved through incidents.services, as every
caller must, and the component a public service shows as."""

from datetime import timedelta
from typing import Any

from accounts.models import User
from incidents import services
from incidents.models import Incident, Service, Status
from statuspage.models import Component, ComponentStateChange, Maintenance
from statuspage.services.maintenance import maintenance_schedule
from tests.clock import T0
from tests.factories import severity

# The maintenance windows of the maintenance tests: 12:00 to 13:00, three hours after the
# clock fixture's 09:00.
MAINTENANCE_START = T0 + timedelta(hours=3)
MAINTENANCE_END = MAINTENANCE_START + timedelta(hours=1)


def component(service: Service) -> Component:
    return Component.objects.get(service=service)


def state(service: Service) -> str:
    return component(service).state


def spans(service: Service) -> list[tuple[str, bool]]:
    """The component's spans, oldest first: (state, still open)."""
    return [
        (span.state, span.ended_at is None)
        for span in ComponentStateChange.objects.filter(component__service=service).order_by(
            "started_at", "id"
        )
    ]


def post_public(incident: Incident, actor: User, message: str = "We are looking into it.") -> Any:
    return services.incident_post_update(
        incident=incident, actor=actor, message=message, public=True
    )


def set_severity(incident: Incident, actor: User, name: str) -> Incident:
    return services.incident_set_severity(incident=incident, actor=actor, severity=severity(name))


def set_status(incident: Incident, actor: User, status: Status) -> Incident:
    return services.incident_set_status(incident=incident, actor=actor, status=status)


def database_upgrade(actor: User, service: Service) -> Maintenance:
    """A window on `service` from MAINTENANCE_START to MAINTENANCE_END, scheduled now."""
    return maintenance_schedule(
        actor=actor,
        name="Database upgrade",
        message="The API may be slow for a few minutes.",
        scheduled_for=MAINTENANCE_START,
        scheduled_until=MAINTENANCE_END,
        components=[component(service)],
    )
