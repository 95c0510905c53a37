"""Who hears of the status page's updates, and the outbox that tells them.

A Subscriber is an email address (double opt-in: it hears nothing until it confirmed) or a
webhook URL (created by staff). Every notification is a SubscriberNotification row, unique per
(subscriber, event key), so each subscriber gets each update once however many workers and
reruns there are; each webhook attempt is a WebhookAttempt row (status, error, duration).
Webhooks also hear of each change of a public component's state, as Statuspage's do; emails
do not (Statuspage emails incidents and maintenance only).
"""

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from statuspage.models import Component, ComponentStateChange, Maintenance, PublicUpdate


def new_subscriber_token() -> str:
    """The secret in a subscriber's unsubscribe link: whoever holds the link may use it."""
    return secrets.token_urlsafe(24)


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class Subscriber(models.Model):
    kind = models.CharField(max_length=8, choices=SubscriberKind.choices)
    # The email address (stored lower-cased) or the webhook's URL.
    address = models.CharField(max_length=500)
    # Everything, or only incidents and maintenance touching one of `components`.
    all_components = models.BooleanField(default=True)
    components = models.ManyToManyField(Component, related_name="subscribers", blank=True)
    token = models.CharField(
        max_length=64, unique=True, default=new_subscriber_token, editable=False
    )
    # Webhooks: the HMAC key the receiver checks X-Tocsin-Signature with.
    secret = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Webhooks: failures in a row; STATUSPAGE_WEBHOOK_DISABLE_AFTER of them disable it.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                "kind", Lower("address"), name="statuspage_subscriber_one_per_address"
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["kind"],
                name="statuspage_subscriber_active",
                condition=Q(
                    confirmed_at__isnull=False,
                    unsubscribed_at__isnull=True,
                    disabled_at__isnull=True,
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"

    @property
    def is_active(self) -> bool:
        return (
            self.confirmed_at is not None
            and self.unsubscribed_at is None
            and self.disabled_at is None
        )


# The maintenance events subscribers hear of (statuspage.services.notices), with Statuspage's
# status for each and how an email names it. No status: the maintenance's when it happened
# (its update's), as a posted update or a change of components may come before or during it.
MAINTENANCE_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled": ("scheduled", "Scheduled"),
    "reminder_60": ("scheduled", "Starts in 60 minutes"),
    "started": ("in_progress", "In progress"),
    "verifying": ("verifying", "Verifying"),
    "completed": ("completed", "Completed"),
    "cancelled": ("cancelled", "Cancelled"),
    "rescheduled": ("scheduled", "Rescheduled"),
    "extended": ("in_progress", "Extended"),
    "updated": ("", "Update"),
    "changed": ("", "Components changed"),
}


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class SubscriberNotification(models.Model):
    """One subscriber told of one public event: an outbox row. `event_key` names the event
    ("update:<code>", "maintenance:<code>:<event>", "component:<state change id>"); the text
    is rendered when it is sent, from the event's rows, so 10,000 rows carry no copies of it."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="notifications"
    )
    event_key = models.CharField(max_length=64)
    public_update = models.ForeignKey(
        PublicUpdate, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # What happened to the maintenance: MAINTENANCE_EVENTS' keys.
    maintenance_event = models.CharField(max_length=16, blank=True)
    # A component's state changed (webhooks only): the span the change opened.
    component_change = models.ForeignKey(
        ComponentStateChange, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    # Handed to a worker (pending) or held by one (sending) since then: the lease.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subscriber", "event_key"], name="statuspage_notify_once"
            ),
            models.CheckConstraint(
                condition=Q(public_update__isnull=False)
                | Q(maintenance__isnull=False)
                | Q(component_change__isnull=False),
                name="statuspage_notification_has_event",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["due_at"],
                name="statuspage_notification_due",
                condition=Q(state__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_key} to {self.subscriber_id}: {self.state}"


class WebhookAttempt(models.Model):
    """One POST of a notification to a webhook subscriber, whatever came of it."""

    notification = models.ForeignKey(
        SubscriberNotification, on_delete=models.CASCADE, related_name="webhook_attempts"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    # The HTTP status answered, or None when there was no answer (timeout, refused).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("started_at", "id")

    def __str__(self) -> str:
        return f"{self.notification_id} at {self.started_at:%H:%M:%S}: {self.status_code}"


__all__ = [
    "MAINTENANCE_EVENTS",
    "DeliveryState",
    "Subscriber",
    "SubscriberKind",
    "SubscriberNotification",
    "WebhookAttempt",
]
