from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.urls import reverse


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # Escalation policies can page "the team's leads" (the playbook's level 2 "team lead").
    leads = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="led_teams", blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="services"
    )
    # Shown as a component on the public status page.
    public = models.BooleanField(default=False)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class StatusPageImpact(models.TextChoices):
    CRITICAL = "critical", "Critical"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"
    NONE = "none", "None"


class Paging(models.TextChoices):
    """What declaring an incident of a severity does (the playbook's severity table)."""

    ONCALL_AND_MANAGEMENT = "oncall_and_management", "Page on call and management"
    ONCALL = "oncall", "Page on call"
    TEAM_CHANNEL = "team_channel", "Notify the team's channel"
    NONE = "none", "Nothing (backlog)"


class Severity(models.Model):
    """An editable row of the playbook's severity table; `rank` 1 is the most severe."""

    name = models.CharField(max_length=16, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True)
    description = models.CharField(max_length=200)
    response_target = models.DurationField(help_text="How soon someone must respond.")
    escalation = models.CharField(max_length=200, blank=True, help_text="Who is told, and how.")
    examples = models.TextField(blank=True)
    statuspage_impact = models.CharField(
        max_length=16, choices=StatusPageImpact.choices, default=StatusPageImpact.NONE
    )
    paging = models.CharField(max_length=24, choices=Paging.choices, default=Paging.ONCALL)
    update_cadence = models.DurationField(
        default=timedelta(hours=1), help_text="Remind the commander when no update was posted."
    )
    color = models.CharField(max_length=7, default="#6b7280")

    class Meta:
        ordering = ("rank",)
        verbose_name_plural = "severities"

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    DETECTED = "detected", "Detected"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


# The lifecycle order. Which moves are allowed is incidents.transitions.TRANSITIONS.
STATUS_ORDER: tuple[str, ...] = tuple(Status.values)
OPEN_STATUSES: tuple[str, ...] = STATUS_ORDER[:-1]


class Source(models.TextChoices):
    WEB = "web", "Web"
    SLACK = "slack", "Slack"
    API = "api", "API"
    ALERTMANAGER = "alertmanager", "Alertmanager"
    EVENTS_API = "events-api", "Events API"
    WEBHOOK = "webhook", "Webhook"
    PAGE = "page", "Page reply"  # a one-click link, an SMS reply or a key pressed on a call
    SYSTEM = "system", "System"


# The incident list's first sort key: open incidents (0) before resolved ones (1). The list
# orders by this expression and `incident_list_order` indexes it; they must stay the same
# expression for the index to serve the list.
CLOSED_LAST = Case(
    When(status=Status.RESOLVED, then=Value(1)), default=Value(0), output_field=IntegerField()
)


# What the web form and the API accept as an incident summary: a pasted stack trace fits.
SUMMARY_MAX_LENGTH = 10_000


# What the monthly report reads of each incident for its figures, counts and trend, covered by
# the incident_started_figures index (reports.selectors): a new column a figure needs goes here
# too, or every month's scan reads the table again.
REPORTED_COLUMNS = [
    "id",
    "drill",
    "merged_into",
    "status",
    "reopen_count",
    "severity",
    "team",
    "private",
    "cause_category",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
]


class Incident(models.Model):
    number = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DETECTED)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    services = models.ManyToManyField(Service, related_name="incidents", blank=True)
    labels = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEB)
    private = models.BooleanField(default=False)
    cause_category = models.CharField(max_length=100, blank=True)
    resolution = models.TextField(blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declared_incidents",
    )
    # Kept in step with the commander role row by incident_assign_role, so lists can show and
    # filter by commander without a join per row.
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="participated_incidents", blank=True
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged"
    )

    started_at = models.DateTimeField(help_text="When impact began.")
    detected_at = models.DateTimeField()
    declared_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    identified_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    # The first resolution: time to resolve is measured to it, as a reopen is a relapse of the
    # same incident, counted on its own (reopen_count) rather than stretching the figure.
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_resolved_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # A game day or drill: run like any incident, left out of the reports' figures.
    drill = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-declared_at",)
        indexes: ClassVar = [
            models.Index(fields=["status", "-declared_at"], name="incident_status_declared"),
            models.Index(fields=["-declared_at"], name="incident_declared"),
            models.Index(fields=["severity", "status"], name="incident_severity_status"),
            # Reports count an incident in the month it started; responder load finds those
            # still open or resolved in a month, and leaves the (few) drills out. The month's
            # figures (reports.selectors) read every column they need from this index alone on
            # PostgreSQL, a fifth of the table's pages (SQLite builds it without the INCLUDE).
            models.Index(
                fields=["started_at"],
                include=REPORTED_COLUMNS,
                name="incident_started_figures",
            ),
            # The report's trend: a month's incidents and their time to resolve, from whichever
            # anchor, for twelve months; a third of the index above to read.
            models.Index(
                fields=["started_at"],
                include=["detected_at", "declared_at", "resolved_at"],
                condition=Q(drill=False, merged_into__isnull=True),
                name="incident_trend",
            ),
            models.Index(fields=["last_resolved_at"], name="incident_last_resolved"),
            models.Index(fields=["id"], condition=Q(drill=True), name="incident_drills"),
            models.Index(
                fields=["-declared_at"],
                name="incident_open_declared",
                condition=~Q(status="resolved"),
            ),
            # Serves the incident list's ordering, so a page reads its rows and stops.
            models.Index(
                CLOSED_LAST,
                F("declared_at").desc(),
                F("number").desc(),
                name="incident_list_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", kwargs={"number": self.number})

    @property
    def ref(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return None if self.acknowledged_at is None else self.acknowledged_at - self.started_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        return None if self.resolved_at is None else self.resolved_at - self.started_at


class IncidentCounter(models.Model):
    """One row holding the last incident number; incremented under a row lock."""

    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"last incident number {self.last_number}"


class RoleKind(models.TextChoices):
    COMMANDER = "commander", "Incident commander"
    COMMUNICATIONS = "communications", "Communications lead"
    TECHNICAL_LEAD = "technical_lead", "Technical lead"
    SCRIBE = "scribe", "Scribe"
    SUBJECT_EXPERT = "subject_expert", "Subject expert"


# Roles held by one person at a time; subject experts may be many.
SINGLE_HOLDER_ROLES = frozenset(
    {RoleKind.COMMANDER, RoleKind.COMMUNICATIONS, RoleKind.TECHNICAL_LEAD, RoleKind.SCRIBE}
)

ROLE_RESPONSIBILITIES = {
    RoleKind.COMMANDER: "Coordinates the response and makes the decisions",
    RoleKind.COMMUNICATIONS: "Handles internal and external updates",
    RoleKind.TECHNICAL_LEAD: "Leads the technical investigation",
    RoleKind.SCRIBE: "Documents the timeline and actions",
    RoleKind.SUBJECT_EXPERT: "Provides domain expertise",
}


class RoleAssignment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=20, choices=RoleKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="incident_roles"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ("assigned_at",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["incident", "role", "user"], name="role_assignment_unique_user"
            ),
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=~Q(role="subject_expert"),
                name="role_assignment_single_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} of {self.incident_id}: {self.user_id}"


# The incident commander's checklist from the playbook, in order.
COMMANDER_CHECKLIST = (
    "Assess severity and impact",
    "Assemble response team",
    "Establish communication cadence",
    "Coordinate investigation",
    "Manage stakeholder updates",
    "Document timeline and decisions",
    "Coordinate resolution efforts",
    "Verify resolution",
    "Schedule postmortem",
)


class ChecklistItem(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("position",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["incident", "position"], name="checklist_position")
        ]

    def __str__(self) -> str:
        return self.title


class EventKind(models.TextChoices):
    DECLARED = "declared", "Declared"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    STATUS_CHANGED = "status_changed", "Status changed"
    SEVERITY_CHANGED = "severity_changed", "Severity changed"
    ROLE_ASSIGNED = "role_assigned", "Role assigned"
    NOTE = "note", "Note"
    STATUS_UPDATE = "status_update", "Status update"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    EDITED = "edited", "Edited"
    CHECKLIST = "checklist", "Checklist"
    MERGED = "merged", "Merged"
    ALERT = "alert", "Alert"
    PAGE = "page", "Page"
    SLACK = "slack", "Slack"


class TimelineEvent(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEB)
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    highlighted = models.BooleanField(default=False)
    # Set when what the entry records was taken back at its source (a Slack message unpinned):
    # the entry stays, struck through, since the timeline never loses what was said.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("occurred_at", "id")
        indexes: ClassVar = [
            models.Index(fields=["incident", "occurred_at", "id"], name="timeline_incident_time"),
            # The responder load's commander history (reports.load): the role entries of the
            # month's incidents, read from the index alone on PostgreSQL (SQLite cannot include
            # a column and builds it without `data`).
            models.Index(
                fields=["incident", "occurred_at", "id"],
                include=["data"],
                condition=Q(kind="role_assigned"),
                name="timeline_role_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.message}"


class StatusUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    message = models.TextField()
    public = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices)
    posted_at = models.DateTimeField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-posted_at", "-id")
        indexes: ClassVar = [
            # The status page's tick looks for recent public updates it has not published
            # (statuspage.services.publishing.public_updates_catch_up) every few seconds.
            models.Index(
                fields=["posted_at"], condition=Q(public=True), name="status_update_public"
            ),
        ]

    def __str__(self) -> str:
        return self.message[:60]
