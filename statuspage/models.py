"""The public status page's own rows: components and their state history, what was published
about incidents, and scheduled maintenance.

Nothing here is written by `incidents`: statuspage hears of incidents through domain events
(statuspage.subscribers) and keeps its own copy of what the public may see, so a page render
never joins the internal tables and nothing private can leak through a forgotten filter.
"""

import secrets
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models import Incident, Service, StatusPageImpact, StatusUpdate


def new_code() -> str:
    """A public identifier: opaque, so the page does not tell how many incidents there were."""
    return secrets.token_hex(6)


class ComponentState(models.TextChoices):
    """Atlassian Statuspage's component statuses, spelled as its API spells them."""

    OPERATIONAL = "operational", "Operational"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"


# Worst wins: when several things affect a component, the one ranked highest is shown.
# Maintenance is planned, so any unplanned degradation outranks it.
STATE_RANK: dict[str, int] = {
    ComponentState.OPERATIONAL: 0,
    ComponentState.UNDER_MAINTENANCE: 1,
    ComponentState.DEGRADED_PERFORMANCE: 2,
    ComponentState.PARTIAL_OUTAGE: 3,
    ComponentState.MAJOR_OUTAGE: 4,
}

# The playbook's severity → impact map (Severity.statuspage_impact) as a component state.
IMPACT_STATE: dict[str, ComponentState] = {
    StatusPageImpact.CRITICAL: ComponentState.MAJOR_OUTAGE,
    StatusPageImpact.MAJOR: ComponentState.PARTIAL_OUTAGE,
    StatusPageImpact.MINOR: ComponentState.DEGRADED_PERFORMANCE,
    StatusPageImpact.NONE: ComponentState.OPERATIONAL,
}


class PublicStatus(models.TextChoices):
    """A public incident's status, Statuspage's four; the internal lifecycle maps onto them."""

    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class ComponentGroup(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "name")

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A public service as the status page shows it. Its row exists while the service is
    marked public (statuspage.services.components_sync keeps them in step); `state` is the
    open interval's, kept here so the page reads one table."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="+")
    # The name customers see; blank shows the service's name.
    public_name = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    group = models.ForeignKey(
        ComponentGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
    )
    position = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=24, choices=ComponentState.choices, default=ComponentState.OPERATIONAL
    )
    state_since = models.DateTimeField()
    # The component's id on a hosted Atlassian Statuspage, when pushing there (optional).
    hosted_component_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.public_name or self.service.name

    @property
    def grouped_name(self) -> str:
        """Its name in `affected_components`, in the API and webhook payloads alike: Statuspage
        names an affected component with its group, "Payments - Checkout API"."""
        return f"{self.group.name} - {self}" if self.group is not None else str(self)


class ComponentStateChange(models.Model):
    """One span of a component's state: from `started_at` until `ended_at` (None while it
    lasts). Every change closes the open span and opens the next, so uptime is a sum over
    spans rather than a guess."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="spans")
    state = models.CharField(max_length=24, choices=ComponentState.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("component", "started_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["component"],
                condition=Q(ended_at__isnull=True),
                name="component_one_open_span",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="component_span_ends_after_start",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["component", "ended_at"], name="component_span_end"),
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.state} from {self.started_at:%Y-%m-%d %H:%M}"


class PublicIncident(models.Model):
    """What the public knows of an incident: made by its first public update, under a public
    name the communications lead may set (the internal title can say more)."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=PublicStatus.choices)
    impact = models.CharField(max_length=16, choices=StatusPageImpact.choices)
    # Shown while the incident is neither private nor merged away; a withdrawn incident (made
    # private after publishing) disappears from every public view.
    withdrawn = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    monitoring_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    components = models.ManyToManyField(Component, related_name="public_incidents", blank=True)
    # Its id on a hosted Atlassian Statuspage, once pushed there.
    hosted_incident_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [
            models.Index(
                fields=["-created_at"],
                name="public_incident_open",
                condition=Q(resolved_at__isnull=True, withdrawn=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ComponentOverride(models.Model):
    """The communications lead's hand-set state of a component for one incident ("partial
    outage" while it is SEV2); it replaces that incident's derived state for the component."""

    public_incident = models.ForeignKey(
        PublicIncident, on_delete=models.CASCADE, related_name="overrides"
    )
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=24, choices=ComponentState.choices)
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["public_incident", "component"], name="one_override_per_component"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.state}"


class PublicUpdate(models.Model):
    """A public status update as published: its text is copied, so the page never reads the
    internal StatusUpdate table."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    public_incident = models.ForeignKey(
        PublicIncident, on_delete=models.CASCADE, related_name="updates"
    )
    status_update = models.OneToOneField(
        StatusUpdate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=PublicStatus.choices)
    body = models.TextField()
    created_at = models.DateTimeField()
    # Statuspage's affected_components: [{"code", "name", "old_status", "new_status"}], the
    # component states this update moved.
    affected_components = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.body[:60]


class MaintenanceStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Maintenance(models.Model):
    """A scheduled maintenance window; it starts and completes by itself (its timer rows)."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    name = models.CharField(max_length=200)
    message = models.TextField()
    status = models.CharField(
        max_length=16, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    scheduled_for = models.DateTimeField()
    scheduled_until = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    components = models.ManyToManyField(Component, related_name="maintenances", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("scheduled_for", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(scheduled_until__gt=models.F("scheduled_for")),
                name="maintenance_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MaintenanceUpdateKind(models.TextChoices):
    STEP = "step", "A step: scheduled, started, completed or cancelled"
    RESCHEDULED = "rescheduled", "Rescheduled"
    EXTENDED = "extended", "Extended"
    CHANGED = "changed", "Components changed"
    POSTED = "posted", "Posted by a manager"


class MaintenanceUpdate(models.Model):
    """A public event of a maintenance: scheduled, started, completed (Statuspage lists them as
    the maintenance's incident_updates), and an entry in the feeds."""

    code = models.CharField(max_length=16, unique=True, default=new_code, editable=False)
    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=MaintenanceStatus.choices)
    # What the update is, beside its status: the feeds title it by this.
    kind = models.CharField(
        max_length=16, choices=MaintenanceUpdateKind.choices, default=MaintenanceUpdateKind.STEP
    )
    body = models.TextField()
    created_at = models.DateTimeField()
    # The window as it stood when the update was made: a later move must not rewrite what an
    # older email, webhook or feed entry announced. Null on rows older than these columns.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.body[:60]

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The window this update announced (its maintenance's current one for older rows)."""
        if self.scheduled_for is None or self.scheduled_until is None:
            return self.maintenance.scheduled_for, self.maintenance.scheduled_until
        return self.scheduled_for, self.scheduled_until


class TimerKind(models.TextChoices):
    REMINDER_60 = "reminder_60", "Reminder, 60 minutes before"
    START = "start", "Start"
    END = "end", "End"


class MaintenanceTimer(models.Model):
    """When a maintenance's next step is due (DESIGN.md, "Timers are rows").

    The tick claims a due row by stamping `claimed_at` (its lease) and fires it in a
    transaction that also stamps `done_at`, on condition that its claim still stands. A worker
    killed after claiming leaves the row claimed but not done: once the lease runs out another
    tick claims it again, so a step is never lost, and a worker that wakes after losing its
    lease finds its claim gone and writes nothing, so a step is never done twice.
    """

    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(max_length=16, choices=TimerKind.choices)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["maintenance", "kind"], name="one_timer_per_step")
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["due_at"], name="maintenance_timer_due", condition=Q(done_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.maintenance}: {self.kind} at {self.due_at:%Y-%m-%d %H:%M}"


from statuspage.models_hosted import HostedPush  # noqa: E402, F401
from statuspage.models_subscribers import *  # noqa: E402,F403
