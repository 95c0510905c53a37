"""What the public may see, read from statuspage's own rows only.

Every public view (the page, the JSON API, the feeds) reads through here, so the rules of what
is shown live in one place: a component while its service is public; an incident once
published and while not withdrawn; maintenance unless cancelled.
"""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from statuspage.models import (
    Component,
    ComponentGroup,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicUpdate,
)


def visible_components() -> QuerySet[Component]:
    """The page's components in display order (groups first by their position), with their
    service and group."""
    return (
        Component.objects.filter(service__public=True)
        .select_related("service", "group")
        .order_by("group__position", "group__name", "group_id", "position", "id")
    )


def visible_groups() -> QuerySet[ComponentGroup]:
    """Groups holding at least one visible component."""
    return ComponentGroup.objects.filter(components__service__public=True).distinct()


def published_incidents() -> QuerySet[PublicIncident]:
    """Every incident the public may see, newest first, with its updates (newest first) and
    visible components."""
    return (
        PublicIncident.objects.filter(withdrawn=False)
        .prefetch_related(
            Prefetch("updates", queryset=PublicUpdate.objects.order_by("-created_at", "-id")),
            Prefetch(
                "components",
                queryset=visible_components(),
            ),
        )
        .order_by("-created_at", "-id")
    )


def unresolved_incidents() -> QuerySet[PublicIncident]:
    return published_incidents().filter(resolved_at__isnull=True)


def unresolved_or_recent_incidents(*, since: datetime) -> QuerySet[PublicIncident]:
    """The open incidents and those published since `since`, in one read: the page's active
    incidents and its past days."""
    return published_incidents().filter(Q(resolved_at__isnull=True) | Q(created_at__gte=since))


def incident_history(
    *, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[PublicIncident]:
    """Published incidents created in [since, until), newest first."""
    incidents = published_incidents()
    if since is not None:
        incidents = incidents.filter(created_at__gte=since)
    if until is not None:
        incidents = incidents.filter(created_at__lt=until)
    return incidents


def maintenances() -> QuerySet[Maintenance]:
    """Every maintenance not cancelled, soonest first, with its updates and components."""
    return (
        Maintenance.objects.exclude(status=MaintenanceStatus.CANCELLED)
        .prefetch_related(
            Prefetch("updates", queryset=MaintenanceUpdate.objects.order_by("-created_at", "-id")),
            Prefetch("components", queryset=visible_components()),
        )
        .order_by("scheduled_for", "id")
    )


def upcoming_maintenances() -> QuerySet[Maintenance]:
    return maintenances().filter(status=MaintenanceStatus.SCHEDULED)


def completed_maintenances(
    *, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Maintenance]:
    """Completed maintenance whose window was scheduled to start in [since, until), newest
    first: the history lists it with the incidents."""
    done = maintenances().filter(status=MaintenanceStatus.COMPLETED)
    if since is not None:
        done = done.filter(scheduled_for__gte=since)
    if until is not None:
        done = done.filter(scheduled_for__lt=until)
    return done.order_by("-scheduled_for", "-id")


def current_or_recent_maintenances(*, since: datetime) -> QuerySet[Maintenance]:
    """Maintenance upcoming or in progress, and that completed whose window was scheduled to
    start since `since`, in one read: the page's maintenance sections and its past days."""
    return maintenances().filter(
        Q(
            status__in=[
                MaintenanceStatus.SCHEDULED,
                MaintenanceStatus.IN_PROGRESS,
                MaintenanceStatus.VERIFYING,
            ]
        )
        | Q(status=MaintenanceStatus.COMPLETED, scheduled_for__gte=since)
    )


def active_maintenances() -> QuerySet[Maintenance]:
    return maintenances().filter(
        Q(status=MaintenanceStatus.IN_PROGRESS) | Q(status=MaintenanceStatus.VERIFYING)
    )
