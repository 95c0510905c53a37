"""The postmortem's workflow: draft → in review → published, and back to review; and the
details around the document (title, authors, contributing factors, the reason for no action
items). Each change holds the postmortem's row lock and leaves a revision."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents.permissions import Action, can, require
from postmortems import document
from postmortems.models import (
    ContributingFactor,
    Postmortem,
    PostmortemStatus,
    ReviewComment,
    ReviewRequest,
    ReviewState,
)
from postmortems.services.postmortems import PostmortemConflict, lock, record_revision, require_edit


def postmortem_update_details(
    *,
    postmortem: Postmortem,
    actor: Actor,
    title: str | None = None,
    contributing_factors: Iterable[ContributingFactor] | None = None,
    no_action_reason: str | None = None,
    authors: Iterable[User] | None = None,
    now: datetime | None = None,
) -> Postmortem:
    now = now or timezone.now()
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        changed = []
        if title is not None and title.strip() and title.strip() != postmortem.title:
            postmortem.title = title.strip()[:250]
            changed.append("title")
        if no_action_reason is not None and no_action_reason.strip() != postmortem.no_action_reason:
            postmortem.no_action_reason = no_action_reason.strip()
            postmortem.save(update_fields=["no_action_reason"])
            changed.append("reason for no action items")
        if contributing_factors is not None:
            factors = {factor.pk for factor in contributing_factors}
            if factors != set(postmortem.contributing_factors.values_list("pk", flat=True)):
                postmortem.contributing_factors.set(factors)
                changed.append("contributing factors")
        if authors is not None:
            people = {user.pk for user in authors}
            if people != set(postmortem.authors.values_list("pk", flat=True)):
                postmortem.authors.set(people)
                changed.append("authors")
        if changed:
            record_revision(
                postmortem, actor=actor, summary="Changed " + ", ".join(changed), now=now
            )
    return postmortem


def publish_problems(postmortem: Postmortem) -> list[str]:
    """What stands between the postmortem and publishing, in words; empty when nothing does."""
    problems = [
        f"{section.heading} needs to be written."
        for section in document.unfilled_required(document.from_json(postmortem.sections))
    ]
    if not postmortem.incident.action_items.exists() and not postmortem.no_action_reason.strip():
        problems.append("Add at least one action item, or say why no action is needed.")
    if postmortem.status != PostmortemStatus.IN_REVIEW:
        problems.append("Request a review first.")
    elif not postmortem.reviews.filter(state=ReviewState.APPROVED).exists():
        problems.append("At least one reviewer must approve it.")
    return problems


def postmortem_request_review(
    *,
    postmortem: Postmortem,
    actor: Actor,
    reviewers: Iterable[User],
    now: datetime | None = None,
) -> Postmortem:
    """Draft (or in review, to add reviewers) → in review, asking each named reviewer."""
    now = now or timezone.now()
    reviewers = list(reviewers)
    if not reviewers:
        raise ValidationError({"reviewers": "Name at least one reviewer."})
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        for reviewer in reviewers:
            if not can(reviewer, Action.VIEW, postmortem.incident):
                raise ValidationError(
                    {"reviewers": f"{reviewer.display_name} may not see {postmortem.incident.ref}."}
                )
        for reviewer in reviewers:
            ReviewRequest.objects.update_or_create(
                postmortem=postmortem,
                reviewer=reviewer,
                defaults={
                    "requested_by": actor_user(actor),
                    "requested_at": now,
                    "state": ReviewState.PENDING,
                    "decided_at": None,
                },
            )
        postmortem.status = PostmortemStatus.IN_REVIEW
        postmortem.review_requested_at = now
        postmortem.save(update_fields=["status", "review_requested_at"])
        names = ", ".join(reviewer.display_name for reviewer in reviewers)
        record_revision(postmortem, actor=actor, summary=f"Review requested from {names}", now=now)
    return postmortem


def postmortem_review(
    *,
    postmortem: Postmortem,
    actor: User,
    approve: bool,
    comment: str = "",
    now: datetime | None = None,
) -> ReviewRequest:
    """A named reviewer approves, or comments (asks for changes)."""
    now = now or timezone.now()
    with transaction.atomic():
        postmortem = lock(postmortem)
        require(actor, Action.VIEW, postmortem.incident)
        if postmortem.status != PostmortemStatus.IN_REVIEW:
            raise PostmortemConflict("This postmortem is not in review.")
        review = (
            ReviewRequest.objects.select_for_update()
            .filter(postmortem=postmortem, reviewer=actor)
            .first()
        )
        if review is None:
            raise PermissionDenied("Only the reviewers asked may review this postmortem.")
        if not approve and not comment.strip():
            raise ValidationError({"comment": "Say what should change."})
        review.state = ReviewState.APPROVED if approve else ReviewState.COMMENTED
        review.comment = comment.strip()
        review.decided_at = now
        review.save(update_fields=["state", "comment", "decided_at"])
        if comment.strip() or approve:
            ReviewComment.objects.create(
                postmortem=postmortem,
                author=actor,
                created_at=now,
                text=comment.strip() or "Approved.",
                approval=approve,
            )
    return review


def postmortem_publish(
    *, postmortem: Postmortem, actor: Actor, now: datetime | None = None
) -> Postmortem:
    now = now or timezone.now()
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        problems = publish_problems(postmortem)
        if problems:
            raise PostmortemConflict(" ".join(problems))
        postmortem.status = PostmortemStatus.PUBLISHED
        postmortem.published_at = now
        postmortem.published_by = actor_user(actor)
        postmortem.save(update_fields=["status", "published_at", "published_by"])
        record_revision(postmortem, actor=actor, summary="Published", now=now)
    return postmortem


def postmortem_reopen_review(
    *, postmortem: Postmortem, actor: Actor, now: datetime | None = None
) -> Postmortem:
    """Published → in review, so it can change again; approvals are asked for afresh."""
    now = now or timezone.now()
    with transaction.atomic():
        postmortem = lock(postmortem)
        require(actor, Action.RESPOND, postmortem.incident)
        if postmortem.status != PostmortemStatus.PUBLISHED:
            raise PostmortemConflict("Only a published postmortem can be reopened for review.")
        postmortem.status = PostmortemStatus.IN_REVIEW
        postmortem.published_at = None
        postmortem.published_by = None
        postmortem.review_requested_at = now
        postmortem.save(
            update_fields=["status", "published_at", "published_by", "review_requested_at"]
        )
        postmortem.reviews.update(state=ReviewState.PENDING, decided_at=None)
        record_revision(postmortem, actor=actor, summary="Reopened for review", now=now)
    return postmortem
