"""Postmortems, their revisions and reviews, the review meeting, action items and the emails
they send.

A postmortem is a list of sections (see postmortems/document.py), rendered from a template
once and then edited section by section; every save is a revision. Everything that must reach
someone (an invitation, a reminder) is first a row here and then a task (DESIGN.md,
"Durability").
"""

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from incidents.models import Incident, Severity, Team


class PostmortemPolicy(models.Model):
    """What a severity asks of postmortems: whether resolving drafts one on its own, and how
    long action items get by default. A severity without a row asks for nothing."""

    severity = models.OneToOneField(
        Severity, on_delete=models.CASCADE, related_name="postmortem_policy"
    )
    required = models.BooleanField(
        default=False, help_text="Resolving an incident of this severity drafts its postmortem."
    )
    action_item_due_days = models.PositiveSmallIntegerField(
        default=30, help_text="Default due date of a new action item, in days from its creation."
    )

    class Meta:
        ordering = ("severity__rank",)
        verbose_name_plural = "postmortem policies"

    def __str__(self) -> str:
        required = "required" if self.required else "optional"
        return f"{self.severity_id}: postmortem {required}"


class PostmortemTemplate(models.Model):
    """A Jinja2 template (sandboxed) that renders a postmortem's Markdown; see
    postmortems/rendering.py for the context it gets and the section markers it may use."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    is_default = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-is_default", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_template"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ContributingFactor(models.Model):
    """A tag from the editable vocabulary, so the monthly report can count causes."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class PostmortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class Postmortem(models.Model):
    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    status = models.CharField(
        max_length=16, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT
    )
    title = models.CharField(max_length=250)
    template = models.ForeignKey(
        PostmortemTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The document: a list of sections (postmortems/document.py). Written only by
    # postmortems.services, under the postmortem's row lock.
    sections = models.JSONField(default=list)
    # Counts saves; the editor sends the number it started from, so a save over someone
    # else's newer words is refused instead of silently undoing them.
    revision = models.PositiveIntegerField(default=0)
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    contributing_factors = models.ManyToManyField(
        ContributingFactor, related_name="postmortems", blank=True
    )
    # Publishing needs an action item or this.
    no_action_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    refreshed_at = models.DateTimeField(help_text="When the generated parts were last rendered.")
    review_requested_at = models.DateTimeField(null=True, blank=True)
    # The revision that last changed the details (title, authors, contributing factors, the
    # reason for no action items): an approval of an earlier revision no longer stands.
    details_revision = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [
            models.Index(fields=["status", "-created_at"], name="postmortem_status_created")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:detail", kwargs={"number": self.incident.number})

    @property
    def is_published(self) -> bool:
        return self.status == PostmortemStatus.PUBLISHED


class PostmortemRevision(models.Model):
    """One save: the whole document as it stood after it, who saved it and what changed."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    # What the save did, in words: "Edited Root cause", "Refreshed from the incident".
    summary = models.CharField(max_length=200)
    sections = models.JSONField()

    class Meta:
        ordering = ("-number",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.postmortem_id} r{self.number}: {self.summary}"


class ReviewState(models.TextChoices):
    PENDING = "pending", "Waiting"
    APPROVED = "approved", "Approved"
    COMMENTED = "commented", "Commented"


class ReviewRequest(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="postmortem_reviews"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    state = models.CharField(
        max_length=12, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The postmortem's revision the reviewer approved; the approval stands while the team's
    # words and the details read as they did then (postmortems.services.workflow).
    approved_revision = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("requested_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["postmortem", "reviewer"], name="review_reviewer")
        ]

    def __str__(self) -> str:
        return f"{self.postmortem_id} by {self.reviewer_id}: {self.state}"


class ReviewComment(models.Model):
    """What reviewers and authors said during review; kept after publishing."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    text = models.TextField()
    approval = models.BooleanField(default=False)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.text[:60]


class ReviewMeeting(models.Model):
    """The postmortem meeting. `sequence` is the iCalendar SEQUENCE: moving the meeting bumps
    it, so calendars update the invitation they hold instead of adding a second one."""

    postmortem = models.OneToOneField(Postmortem, on_delete=models.CASCADE, related_name="meeting")
    uid = models.CharField(max_length=200, unique=True)
    starts_at = models.DateTimeField()
    duration = models.DurationField(default=timedelta(hours=1))
    location = models.CharField(max_length=300, blank=True)
    sequence = models.PositiveIntegerField(default=0)
    cancelled = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.postmortem_id} at {self.starts_at:%Y-%m-%d %H:%M}"


class ActionItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


CLOSED_ACTION_ITEM_STATUSES = (ActionItemStatus.DONE, ActionItemStatus.WONT_DO)


class ActionItemPriority(models.TextChoices):
    # Ordered so that sorting by the value puts the most urgent first.
    P1 = "p1", "P1 — urgent"
    P2 = "p2", "P2 — high"
    P3 = "p3", "P3 — normal"
    P4 = "p4", "P4 — low"


class ActionItemKind(models.TextChoices):
    """Google's SRE vocabulary, which splits the playbook's "corrective" in two."""

    PREVENT = "prevent", "Prevent"  # stops this kind of incident from happening again
    DETECT = "detect", "Detect"  # finds it sooner: alerts, dashboards, checks
    MITIGATE = "mitigate", "Mitigate"  # makes it smaller or shorter when it happens
    REPAIR = "repair", "Repair"  # fixes what the incident broke or left behind
    PROCESS = "process", "Process"  # runbooks, training, how we respond


class ActionItem(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
    )
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    # A date in the organisation's zone (settings.ORGANISATION_TIME_ZONE): the item is
    # overdue from the first moment after that day ends.
    due_date = models.DateField()
    priority = models.CharField(
        max_length=2, choices=ActionItemPriority.choices, default=ActionItemPriority.P3
    )
    kind = models.CharField(
        max_length=10, choices=ActionItemKind.choices, default=ActionItemKind.PREVENT
    )
    status = models.CharField(
        max_length=12, choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN
    )
    wont_do_reason = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    ticket_url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # The timer row's clock: when the owner is next reminded (NULL: never again, as for a
    # closed item or one without an owner). The tick claims rows whose time has come.
    next_reminder_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_date", "priority", "id")
        indexes: ClassVar = [
            models.Index(fields=["owner", "status", "due_date"], name="action_item_owner"),
            models.Index(fields=["incident", "id"], name="action_item_incident"),
            models.Index(
                fields=["next_reminder_at"],
                name="action_item_reminder_due",
                condition=Q(next_reminder_at__isnull=False),
            ),
            # The overdue items (postmortems.selectors_action_items.overdue_q: not closed, due
            # before today), which the monthly report counts whatever their incident's month.
            models.Index(
                fields=["due_date"],
                name="action_item_open_due",
                condition=Q(status__in=["open", "in_progress"]),
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(status="wont_do") | ~Q(wont_do_reason=""),
                name="action_item_wont_do_has_reason",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action_item", kwargs={"pk": self.pk})

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_ACTION_ITEM_STATUSES


class EmailState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutgoingEmail(models.Model):
    """An email this app must deliver (an invitation, a reminder): a row first, then a task.

    `key` names what the email is for ("reminder:<item>:<day>:email", "invite:<meeting>:
    <sequence>:<address>", "review:<postmortem>:<reviewer>:r<revision>"), so a second beat or
    a rerun adds nothing.
    """

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    # An iCalendar attachment (text/calendar; method in the content) or empty.
    ics = models.TextField(blank=True)
    ics_method = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes: ClassVar = [
            models.Index(
                fields=["due_at"],
                name="outgoing_email_due",
                condition=Q(state__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.to}: {self.state}"
