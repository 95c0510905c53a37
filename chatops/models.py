"""Slack's side of Tocsin: which channel belongs to which incident or team, who is who, what
Slack sent us, and what we still have to send it.

The incident core knows nothing of Slack; everything Slack-shaped lives here.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident, Team


class SlackUserLink(models.Model):
    """A Tocsin user's Slack account: who acts when a Slack user types a command."""

    class Source(models.TextChoices):
        EMAIL = "email", "Matched by email"
        HAND = "hand", "Linked by hand"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    slack_user_id = models.CharField(max_length=32, unique=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    linked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} is {self.slack_user_id}"


class IncidentChannel(models.Model):
    """The incident's Slack channel: one per incident, created once, whatever declared it.

    `channel_id` stays empty until Slack has created the channel; `name` is what we asked for
    (a suffix is added when the name was taken).
    """

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="+")
    channel_id = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=80)
    private = models.BooleanField(default=False)
    created_at = models.DateTimeField(null=True, blank=True)
    # What we last set, so an unchanged topic is not sent again.
    topic = models.CharField(max_length=250, blank=True)
    bookmarked = models.BooleanField(default=False)
    # Slack user ids already invited.
    invited = models.JSONField(default=list, blank=True)
    # Timer row: archive this long after resolution (cleared on reopen).
    archive_due_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["channel_id"], condition=~Q(channel_id=""), name="incident_channel_unique"
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["archive_due_at"],
                condition=Q(archive_due_at__isnull=False, archived_at__isnull=True),
                name="incident_channel_archive_due",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.name} ({self.channel_id or 'not created yet'})"


class TeamChannel(models.Model):
    """Where a team hears of its SEV3s, which notify the team's channel instead of paging."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")
    channel_id = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return f"{self.team_id}: #{self.channel_name or self.channel_id}"


class Announcement(models.Model):
    """A live message about an incident, edited in place on every change (its `ts` is kept).

    One in the incident's channel and one in the announcements channel.
    """

    class Place(models.TextChoices):
        INCIDENT_CHANNEL = "incident", "Incident channel"
        ANNOUNCEMENTS = "announcements", "Announcements channel"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    place = models.CharField(max_length=16, choices=Place.choices)
    channel_id = models.CharField(max_length=32, blank=True)
    ts = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["incident", "place"], name="announcement_one_per_place")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.place} {self.ts or '(not posted)'}"


class PinnedMessage(models.Model):
    """A Slack message pinned (or 📌-reacted) in an incident channel, and its timeline entry.

    Unique by message, so a pin and a 📌 on the same message make one entry.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    channel_id = models.CharField(max_length=32)
    message_ts = models.CharField(max_length=32)
    timeline_event_id = models.BigIntegerField(null=True, blank=True)
    # How it is held: {"pin", "reaction:<slack user>"}; the entry is marked removed when empty.
    held_by = models.JSONField(default=list, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["channel_id", "message_ts"], name="pinned_message_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.message_ts}"


class UpdateReminder(models.Model):
    """Timer row: when the incident's channel is next told that no status update was posted."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    snoozed_until = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [models.Index(fields=["due_at"], name="update_reminder_due")]

    def __str__(self) -> str:
        return f"{self.incident_id} due {self.due_at:%Y-%m-%d %H:%M}"


class InboundKind(models.TextChoices):
    EVENT = "event", "Event"
    COMMAND = "command", "Slash command"
    INTERACTION = "interaction", "Interaction"


class InboundRequest(models.Model):
    """What Slack sent us, stored before it is acted on, so a retry is acknowledged and dropped.

    `key` is the event's `event_id`, or for commands and interactions an id Slack makes unique
    per request (the trigger id).
    """

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=12, choices=InboundKind.choices)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    # Slack's retries of this request that we acknowledged and dropped.
    retries = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # After a failed attempt: not before then.
    retry_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="inbound_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class CallState(models.TextChoices):
    PENDING = "pending", "Waiting"
    QUEUED = "queued", "Handed to a worker"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class SlackCall(models.Model):
    """One outbound Slack call to make (the outbox row a task claims).

    `kind` names the sender (chatops.services.outbox.register_sender). Most rows are sent once
    (a notice, a reminder). Rows that keep something in Slack in step with the incident (the
    announcement, the topic) are *refreshed*: each change bumps `wanted`, a send records the
    `wanted` it rendered as `done`, and a row whose `done` lags is sent again, with the latest
    state. A burst of changes while one send is under way costs one more send, not one each.
    """

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=CallState.choices, default=CallState.PENDING)
    wanted = models.PositiveIntegerField(default=1)
    done = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Running totals for /metrics: calls Slack accepted, answered 429, or failed.
    sends = models.PositiveIntegerField(default=0)
    rate_limits = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    # What Slack answered that later calls need (a channel id, a message ts).
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    # When the oldest change not yet in Slack was asked for: the row gives up when that is
    # SLACK_GIVE_UP_AFTER ago. A refresh of a row sent long ago starts the clock again.
    wanted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("due_at", "id")
        indexes: ClassVar = [
            models.Index(fields=("due_at",), condition=Q(state="pending"), name="slack_call_due"),
            models.Index(
                fields=("state", "queued_at"),
                condition=Q(state__in=("queued", "sending")),
                name="slack_call_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return self.key
