"""Reads for the Statuspage-compatible JSON API and the history feeds, built on
statuspage.selectors so the rules of what the public may see stay in one place.

Each function reads a fixed number of queries whatever the number of components, incidents or
updates: lists are bounded and their related rows prefetched.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from statuspage import selectors
from statuspage.models import (
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    MaintenanceUpdateKind,
    PublicIncident,
    PublicUpdate,
)

# Statuspage's incidents.json and scheduled-maintenances.json list this many, newest first.
LIST_LIMIT = 50

ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


def page_updated_at() -> datetime | None:
    """When anything the public sees last changed: a component, an incident or a maintenance
    (three aggregates)."""
    stamps = [
        selectors.visible_components().aggregate(at=Max("updated_at"))["at"],
        selectors.published_incidents().aggregate(at=Max("updated_at"))["at"],
        selectors.maintenances().aggregate(at=Max("updated_at"))["at"],
    ]
    present = [stamp for stamp in stamps if stamp is not None]
    return max(present) if present else None


def recent_incidents(*, limit: int = LIST_LIMIT) -> list[PublicIncident]:
    return list(selectors.published_incidents()[:limit])


def recent_maintenances(*, limit: int = LIST_LIMIT) -> list[Maintenance]:
    """The latest maintenances by their window, whatever their status but cancelled."""
    return list(selectors.maintenances().order_by("-scheduled_for", "-id")[:limit])


def current_maintenances() -> list[Maintenance]:
    """Upcoming and in-progress maintenances, soonest first (summary.json lists these)."""
    return list(
        selectors.maintenances().filter(
            status__in=(MaintenanceStatus.SCHEDULED, *ACTIVE_MAINTENANCE)
        )
    )


@dataclass(frozen=True)
class StatusInputs:
    """What the page's overall indicator is derived from."""

    component_states: list[str]
    unresolved_impacts: list[str]
    maintenance_active: bool


def status_inputs() -> StatusInputs:
    """The indicator's inputs without loading whole rows (status.json is polled the most)."""
    return StatusInputs(
        component_states=list(
            selectors.visible_components()
            .exclude(state=ComponentState.OPERATIONAL)
            .values_list("state", flat=True)
        ),
        unresolved_impacts=list(
            selectors.unresolved_incidents()
            .prefetch_related(None)
            .order_by()
            .values_list("impact", flat=True)
            .distinct()
        ),
        maintenance_active=selectors.active_maintenances().prefetch_related(None).exists(),
    )


def feed_entries(*, limit: int = LIST_LIMIT) -> list[PublicUpdate | MaintenanceUpdate]:
    """The latest public updates and maintenance events together, newest first: two bounded
    queries, merged here.

    A cancelled maintenance is off the page, but its subscribers are told of the
    cancellation (and nothing older), so the feeds carry that one entry of it too."""
    updates = list(
        PublicUpdate.objects.filter(
            public_incident__in=selectors.published_incidents().prefetch_related(None)
        )
        .select_related("public_incident")
        .order_by("-created_at", "-id")[:limit]
    )
    events = list(
        MaintenanceUpdate.objects.filter(
            Q(maintenance__in=selectors.maintenances().prefetch_related(None))
            | Q(
                maintenance__status=MaintenanceStatus.CANCELLED,
                status=MaintenanceStatus.CANCELLED,
                kind=MaintenanceUpdateKind.STEP,
            )
        )
        .select_related("maintenance")
        .order_by("-created_at", "-id")[:limit]
    )
    entries: list[PublicUpdate | MaintenanceUpdate] = [*updates, *events]
    entries.sort(key=lambda entry: entry.created_at, reverse=True)
    return entries[:limit]
