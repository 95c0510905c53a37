"""The outbox of pushes to a hosted Atlassian Statuspage (statuspage.hosted): one row per public
incident, so its pushes go one at a time and in order, and a burst of changes collapses into
the one send that carries the latest state."""

from typing import ClassVar

from django.db import models
from django.db.models import Q

from statuspage.models import PublicIncident


class PushState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class HostedPush(models.Model):
    """Bring the hosted page's copy of one public incident up to date.

    Each change bumps `wanted`; a send records the `wanted` it read the incident at as `done`,
    and a row whose `done` lags (a change came in while it was on its way) is sent once more.
    A send holds the row (`sending`, `claimed_at`) for a lease; a worker killed mid-push
    leaves it to be claimed again when the lease runs out.
    """

    public_incident = models.OneToOneField(
        PublicIncident, on_delete=models.CASCADE, related_name="hosted_push"
    )
    state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.PENDING)
    wanted = models.PositiveIntegerField(default=1)
    done = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Attempts at the changes not yet pushed; a push that lands starts the count again.
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Set (and committed) before the incident is created there, cleared once its id is stored:
    # a row claimed again with it set may have created the hosted incident already (the answer
    # was lost, or the worker died), so the hosted page is searched before creating another.
    create_started_at = models.DateTimeField(null=True, blank=True)
    # What the hosted page was last told (services.desired_state): a later send PATCHes only
    # what differs, so the hosted incident gets no repeated update for a mere component change.
    pushed = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_at", "id")
        indexes: ClassVar = [
            models.Index(fields=("due_at",), condition=Q(state="pending"), name="hosted_push_due"),
            models.Index(
                fields=("claimed_at",), condition=Q(state="sending"), name="hosted_push_sending"
            ),
        ]

    def __str__(self) -> str:
        return f"push of public incident {self.public_incident_id} ({self.state})"
