from django.db import models


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReportDelivery(models.Model):
    """The monthly report's email to one recipient for one month: a timer row.

    The unique (month, email) pair is what makes "once per recipient per month" hold under two
    beats: whichever tick creates the row first owns the send, and a send is claimed with
    SELECT … FOR UPDATE SKIP LOCKED and a lease, so a worker killed mid-send is retried, not lost.
    """

    month = models.CharField(max_length=7, help_text="YYYY-MM, in the organisation's zone.")
    email = models.EmailField()
    state = models.CharField(
        max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-month", "email")
        verbose_name_plural = "report deliveries"
        constraints = [
            models.UniqueConstraint(fields=["month", "email"], name="report_delivery_once"),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="report_delivery_due")]

    def __str__(self) -> str:
        return f"{self.month} report to {self.email} ({self.state})"
