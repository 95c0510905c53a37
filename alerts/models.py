import hashlib
import secrets
from datetime import timedelta
from typing import ClassVar

from django.db import models

from incidents.models import Incident, Severity, Team

LINK_SCHEMES = ("https://", "http://")


class IntegrationKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    EVENTS_V2 = "events_v2", "Events API v2 (PagerDuty compatible)"
    GENERIC = "generic", "Generic JSON webhook"


def default_grouping_labels() -> list[str]:
    return ["alertname", "service"]


def default_severity_map() -> dict[str, str]:
    # The `severity` label (or Events API payload.severity) → our severity.
    return {"critical": "SEV1", "error": "SEV2", "warning": "SEV3", "info": "SEV4"}


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of entropy: a plain SHA-256 is enough and lets us find them by hash.
    return hashlib.sha256(token.encode()).hexdigest()


class Integration(models.Model):
    """A source of alerts for a team: where it posts, and how its alerts become incidents."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=IntegrationKind.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="integrations")
    # Who is paged for this integration's incidents; empty = the team's policy, else the default.
    # PROTECT: deleting the policy would quietly leave the integration's incidents to another.
    escalation_policy = models.ForeignKey(
        "oncall.EscalationPolicy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="integrations",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=12, editable=False)
    active = models.BooleanField(default=True, help_text="Paused integrations refuse alerts.")

    severity_map = models.JSONField(default=default_severity_map, blank=True)
    default_severity = models.ForeignKey(
        Severity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="When no rule decides; the least severe level if empty.",
    )
    grouping_labels = models.JSONField(default=default_grouping_labels, blank=True)
    group_window = models.DurationField(
        default=timedelta(hours=1),
        help_text="A new alert joins its group's open incident if the group fired this recently.",
    )
    auto_resolve = models.BooleanField(
        default=False,
        help_text="Resolve the incident when all its alerts resolve (else move it to monitoring).",
    )
    max_incidents_per_minute = models.PositiveIntegerField(
        default=10, help_text="Beyond this, new alerts join one storm incident."
    )
    storm_incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Generic webhooks: sandboxed Jinja2 expressions evaluated against the posted JSON (`payload`).
    title_template = models.CharField(max_length=500, blank=True)
    dedup_key_template = models.CharField(max_length=500, blank=True)
    severity_template = models.CharField(max_length=500, blank=True)
    resolved_template = models.CharField(
        max_length=500, blank=True, help_text="True when the payload reports a resolution."
    )

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @staticmethod
    def generate_token() -> str:
        return secrets.token_urlsafe(32)


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """The latest known state of one alert, keyed by its source's dedup key.

    Rows are written by one bulk upsert per delivery; `needs_processing` marks the rows whose
    state changed so the processor (a task, and the sweeper behind it) acts on them once.
    """

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    dedup_key = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=AlertStatus.choices)
    title = models.CharField(max_length=1024)
    severity_hint = models.CharField(max_length=32, blank=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    source_url = models.URLField(max_length=2000, blank=True)
    group_key = models.CharField(max_length=500, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    # The source's time of the state held (startsAt when firing, endsAt when resolved); an
    # event older than this is stale and ignored, whatever order deliveries arrive in.
    event_at = models.DateTimeField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    times_seen = models.PositiveIntegerField(default=1)
    # How many times its status changed: the processor settles an alert only if this is what
    # it read (a repeat in the meantime, even with a newer event time, changes nothing).
    status_changes = models.PositiveIntegerField(default=0)
    needs_processing = models.BooleanField(default=True)
    # An alert whose processing failed on its own (a bug meeting an odd alert) is tried again
    # from this time, backing off, so it cannot hold up the integration's other alerts.
    process_failures = models.PositiveSmallIntegerField(db_default=0)  # the upsert omits it
    process_after = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )

    class Meta:
        ordering = ("starts_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["integration", "dedup_key"], name="alert_dedup_key")
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["integration", "event_at"],
                name="alert_pending",
                condition=models.Q(needs_processing=True),
            ),
            models.Index(fields=["integration", "group_key"], name="alert_group"),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.status}]"

    @property
    def source_link(self) -> str:
        """`source_url` if it is a web link, else "": sources send any string as generatorURL."""
        return self.source_url if self.source_url.startswith(LINK_SCHEMES) else ""
