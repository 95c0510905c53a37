"""Schedules, escalation policies, contact methods, and the paging engine's rows.

The engine's timers are rows (DESIGN.md rule 4): an `Escalation` says when its next level is
due, a `Notification` when it should be delivered. Beat ticks claim what is due; nothing waits in
Celery's countdowns, so a broker restart or a killed worker loses nothing.
"""

import secrets
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from incidents.models import Incident, Team
from oncall.schedules import ShiftLength


def _feed_token() -> str:
    return secrets.token_urlsafe(24)


class Schedule(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # The zone the schedule page shows its calendar in; each layer keeps its own zone.
    time_zone = models.CharField(max_length=64, default="UTC")
    # The secret in the schedule's iCal URL; rotating it revokes every subscribed calendar.
    feed_token = models.CharField(max_length=64, unique=True, default=_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("team__name", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("team", "name"), name="schedule_name_unique_per_team")
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleLayer(models.Model):
    """A rotation of ordered participants; higher levels override lower ones."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(default=1)
    # Shift 0 starts here with the first participant; daily and weekly shifts hand off at this
    # instant's wall time in `time_zone`.
    rotation_start = models.DateTimeField()
    shift_length = models.CharField(
        max_length=8, choices=ShiftLength.choices, default=ShiftLength.WEEKLY
    )
    shift_hours = models.PositiveSmallIntegerField(default=24)
    time_zone = models.CharField(max_length=64, default="UTC")
    # [{"start": "HH:MM", "end": "HH:MM", "weekdays": [0..6]}]; end <= start runs overnight.
    restrictions = models.JSONField(default=list, blank=True)
    # Changing participants mid-rotation ends this layer and starts another at that instant.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("schedule", "-level", "id")

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"


class LayerParticipant(models.Model):
    layer = models.ForeignKey(ScheduleLayer, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ("layer", "position")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("layer", "position"), name="participant_position")
        ]

    def __str__(self) -> str:
        return f"{self.layer} #{self.position}"


class ScheduleOverride(models.Model):
    """Someone takes a span of the schedule: "take this shift", "cover for me"."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("start", "id")
        indexes: ClassVar = [models.Index(fields=("schedule", "end"))]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="override_span")
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: override {self.start:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="escalation_policies",
        help_text="Incidents of this team without an integration's policy use it.",
    )
    # How many more times to run through all levels when nobody acknowledges.
    repeat = models.PositiveSmallIntegerField(default=0)
    # Used when neither the integration nor the team names a policy.
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "escalation policies"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("is_default",), condition=Q(is_default=True), name="one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    # How long this level has to acknowledge before the next one is paged.
    delay = models.DurationField(default=timedelta(minutes=5))
    # Management levels are also paged at once for severities that page management (SEV1).
    management = models.BooleanField(default=False)

    class Meta:
        ordering = ("policy", "position")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("policy", "position"), name="level_position")
        ]

    def __str__(self) -> str:
        return f"{self.policy} level {self.position}"


class TargetKind(models.TextChoices):
    USER = "user", "User"
    SCHEDULE = "schedule", "Whoever is on call"
    TEAM_LEADS = "team_leads", "Team leads"


class EscalationTarget(models.Model):
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=16, choices=TargetKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # PROTECT: deleting a schedule a level pages would leave that level paging nobody.
    schedule = models.ForeignKey(
        Schedule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(
                    Q(kind="user", user__isnull=False, schedule__isnull=True, team__isnull=True)
                    | Q(
                        kind="schedule",
                        user__isnull=True,
                        schedule__isnull=False,
                        team__isnull=True,
                    )
                    | Q(
                        kind="team_leads",
                        user__isnull=True,
                        schedule__isnull=True,
                        team__isnull=False,
                    )
                ),
                name="target_has_its_object",
            )
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.get_kind_display()}"


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    SLACK = "slack", "Slack DM"
    WEBHOOK = "webhook", "Webhook"


class ContactMethod(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    # An email address, an E.164 phone number, a Slack user id, or an https URL.
    address = models.CharField(max_length=500)
    label = models.CharField(max_length=100, blank=True)
    # Pages go only to verified methods: a typo in a phone number must not eat a page.
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_code_hash = models.CharField(max_length=64, blank=True)
    verification_expires_at = models.DateTimeField(null=True, blank=True)
    verification_attempts = models.PositiveSmallIntegerField(default=0)
    # Signs outgoing webhook bodies.
    secret = models.CharField(max_length=64, blank=True)
    # Set when a provider said the address can never work (unknown number, user gone).
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed by its owner after pages went to it: kept, disabled, for the pages' history.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("user", "kind", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("user", "kind", "address"),
                condition=Q(removed_at__isnull=True),
                name="contact_method_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"

    @property
    def usable(self) -> bool:
        return self.verified_at is not None and self.disabled_at is None


class NotificationRule(models.Model):
    """One step of how a person wants to be paged: this method, this long after the page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="rules"
    )
    delay = models.DurationField(default=timedelta(0))

    class Meta:
        ordering = ("user", "delay", "id")

    def __str__(self) -> str:
        return f"{self.contact_method} after {self.delay}"


class EscalationState(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"  # acknowledged or resolved
    EXHAUSTED = "exhausted", "Exhausted"  # every level and repeat paged; nobody acknowledged


class Escalation(models.Model):
    """An incident being paged: which level comes next, and when."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    # None: nobody could be paged, no policy applied (kept so the tick does not retry).
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=EscalationState.choices, default=EscalationState.ACTIVE
    )
    # The level paged next (0-based over the policy's levels) and the run through them.
    level_index = models.PositiveSmallIntegerField(default=0)
    cycle = models.PositiveSmallIntegerField(default=0)
    # Bumped when someone escalates a stopped or exhausted escalation: a new run of the policy.
    run = models.PositiveSmallIntegerField(default=0)
    next_at = models.DateTimeField(null=True, blank=True)
    page_management = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=("next_at",), condition=Q(state="active"), name="escalation_due")
        ]

    def __str__(self) -> str:
        return f"Escalation of incident {self.incident_id}"


class NotificationKind(models.TextChoices):
    PAGE = "page", "Page"
    TEST = "test", "Test page"
    VERIFICATION = "verification", "Verification code"
    NOTICE = "notice", "Notice"  # e.g. "we disabled your SMS number"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Waiting until due"
    QUEUED = "queued", "Queued for delivery"
    SENDING = "sending", "Being delivered"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Notification(models.Model):
    """One message to one person over one contact method: the outbox row a delivery claims."""

    # What makes a page unique: escalation, cycle, level, person and rule step. Two ticks
    # computing the same step insert the same key, and the second insert does nothing.
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(
        max_length=12, choices=NotificationKind.choices, default=NotificationKind.PAGE
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="notifications"
    )
    level_index = models.PositiveSmallIntegerField(null=True, blank=True)
    # For pages: why this person was paged, as the timeline says it ("level 2", "paged by Rosa
    # Diaz", "Database on call, paged by Rosa Diaz"). Empty on rows from before it was kept.
    label = models.CharField(max_length=200, blank=True)
    # For verification codes and notices: the text to send (pages are rendered from the incident).
    body = models.TextField(blank=True)
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    due_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_id = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("due_at", "id")
        indexes: ClassVar = [
            models.Index(fields=("due_at",), condition=Q(state="pending"), name="notification_due"),
            models.Index(
                fields=("state", "queued_at"),
                condition=Q(state__in=("queued", "sending")),
                name="notification_in_flight",
            ),
            # Responder load reads a month of the pages that reached someone (reports.load).
            models.Index(
                fields=("sent_at",),
                condition=Q(kind="page", state="sent"),
                name="notification_page_sent",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class AttemptStatus(models.TextChoices):
    SENT = "sent", "Sent"
    TRANSIENT = "transient", "Failed, will retry"
    PERMANENT = "permanent", "Failed permanently"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_made"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=AttemptStatus.choices)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("started_at", "id")

    def __str__(self) -> str:
        return f"{self.notification_id} {self.status}"


class CalendarFeed(models.Model):
    """The secret in a person's iCal URL of their own shifts across every schedule."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=_feed_token)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
