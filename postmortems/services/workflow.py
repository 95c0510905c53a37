"""The postmortem's workflow: draft → in review → published, and back to review; and the
details around the document (title, authors, contributing factors, the reason for no action
items).

Each change holds the postmortem's row lock and leaves a revision. Who may do what:
- people who may respond to the incident edit the details, request review, publish and reopen;
- reviewers are people who may respond to it too (a viewer reads, never approves), named by
  someone else: an approval of one's own request would open the gate it guards;
- only a named reviewer reviews, and only while the postmortem is in review.
Publishing and reopening also leave an entry on the incident's timeline, so the incident tells
where its postmortem stands.

An approval is of the words the reviewer read: it records the revision approved, and stands
while the team's words (every written section someone has written in) and the details read as
they did at that revision. Any edit to them leaves the approval stale ("changed since your
approval") until a reviewer approves again; an edit undone before publishing leaves it standing,
since what is published is then what was approved. Refreshing from the incident does not make
an approval stale: it rewrites the generated sections and the template's own text in sections
nobody has written in yet, which are facts from the incident, not the team's account of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents.models import EventKind, Incident, Source, Status
from incidents.permissions import Action, can, require
from incidents.timeline import incident_record_event
from postmortems import document
from postmortems.models import (
    ContributingFactor,
    Postmortem,
    PostmortemRevision,
    PostmortemStatus,
    ReviewComment,
    ReviewRequest,
    ReviewState,
)
from postmortems.services.emails import email_queue
from postmortems.services.meetings import BLAMELESS
from postmortems.services.postmortems import (
    PostmortemConflict,
    lock,
    record_revision,
    require_edit,
    rerender_generated,
)

# What the web form and the API accept in a comment or a reason: a long paragraph fits.
MAX_TEXT = 10_000
TITLE_MAX_LENGTH = 250  # Postmortem.title


class PublishBlocked(PostmortemConflict):
    """Publishing was refused; `problems` says what stands in the way, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _check_text(name: str, text: str) -> None:
    if len(text) > MAX_TEXT:
        raise ValidationError({name: f"Keep it under {MAX_TEXT:,} characters."})


def _check_people(field: str, people: list[User], incident: Incident, *, what: str) -> None:
    """Everyone in `people` may respond to the incident (which includes seeing it)."""
    for person in people:
        if not person.is_active:
            raise ValidationError({field: f"{person.display_name} can no longer sign in."})
        if not can(person, Action.VIEW, incident):
            raise ValidationError({field: f"{person.display_name} may not see {incident.ref}."})
        if not can(person, Action.RESPOND, incident):
            raise ValidationError(
                {field: f"{person.display_name} has a read-only role and cannot {what}."}
            )


def _unique(people: Iterable[User]) -> list[User]:
    seen: dict[int, User] = {}
    for person in people:
        seen.setdefault(person.pk, person)
    return list(seen.values())


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
    """Change what is given (None leaves a detail as it is); one revision naming what changed.

    A factor taken out of the vocabulary (active=False) stays on postmortems that have it, but
    cannot be added to another one."""
    now = now or timezone.now()
    if title is not None:
        title = title.strip()
        if not title:
            raise ValidationError({"title": "Give the postmortem a title."})
        if len(title) > TITLE_MAX_LENGTH:
            raise ValidationError({"title": f"Keep the title under {TITLE_MAX_LENGTH} characters."})
    if no_action_reason is not None:
        no_action_reason = no_action_reason.strip()
        _check_text("no_action_reason", no_action_reason)
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        changed = []
        if title is not None and title != postmortem.title:
            postmortem.title = title
            changed.append("title")
        if no_action_reason is not None and no_action_reason != postmortem.no_action_reason:
            postmortem.no_action_reason = no_action_reason
            postmortem.save(update_fields=["no_action_reason"])
            changed.append("reason for no action items")
        if contributing_factors is not None:
            factors = {factor.pk: factor for factor in contributing_factors}
            current = set(postmortem.contributing_factors.values_list("pk", flat=True))
            for pk, factor in factors.items():
                if pk not in current and not factor.active:
                    raise ValidationError(
                        {"contributing_factors": f"{factor.name} is no longer in use."}
                    )
            if set(factors) != current:
                postmortem.contributing_factors.set(list(factors))
                changed.append("contributing factors")
        if authors is not None:
            people = _unique(authors)
            current = set(postmortem.authors.values_list("pk", flat=True))
            if {person.pk for person in people} != current:
                # An author who has since left keeps their credit; new ones must qualify.
                added = [person for person in people if person.pk not in current]
                _check_people("authors", added, postmortem.incident, what="write it")
                postmortem.authors.set(people)
                changed.append("authors")
        if changed:
            record_revision(
                postmortem, actor=actor, summary="Changed " + ", ".join(changed), now=now
            )
            postmortem.details_revision = postmortem.revision
            postmortem.save(update_fields=["details_revision"])
    return postmortem


def _team_words(postmortem: Postmortem) -> dict[str, tuple[str, str]]:
    """What people wrote: each written section someone changed from the template's text."""
    return {
        section.key: (section.heading, section.body)
        for section in document.from_json(postmortem.sections)
        if section.edited
    }


def _reads_the_same(words: dict[str, tuple[str, str]], snapshot: list[dict[str, Any]]) -> bool:
    """Every section people wrote in reads in the revision `snapshot` as it does now. A
    revision keeps only written sections, without what the template gave them, so it is read
    against the words of now, not for words of its own."""
    then = {section["key"]: (section["heading"], section["body"]) for section in snapshot}
    return all(then.get(key) == text for key, text in words.items())


def stale_approvals(postmortem: Postmortem, reviews: Iterable[ReviewRequest]) -> set[int]:
    """The pks of the approvals among `reviews` that no longer stand: the team's words or the
    details changed after the revision approved (see the module's docstring)."""
    approvals = [review for review in reviews if review.state == ReviewState.APPROVED]
    candidates = {
        review.approved_revision
        for review in approvals
        if review.approved_revision is not None
        and review.approved_revision >= postmortem.details_revision
    }
    standing = {postmortem.revision} & candidates
    earlier = candidates - standing
    if earlier:
        words = _team_words(postmortem)
        snapshots = PostmortemRevision.objects.filter(
            postmortem=postmortem, number__in=earlier
        ).values_list("number", "sections")
        standing |= {number for number, sections in snapshots if _reads_the_same(words, sections)}
    return {review.pk for review in approvals if review.approved_revision not in standing}


def publish_problems(postmortem: Postmortem) -> list[str]:
    """What stands between the postmortem and publishing, in words; empty when nothing does."""
    incident = postmortem.incident
    problems = [
        f"{section.heading} needs to be written."
        for section in document.unfilled_required(document.from_json(postmortem.sections))
    ]
    if not postmortem.no_action_reason.strip() and not incident.action_items.exists():
        problems.append("Add at least one action item, or say why no action is needed.")
    if postmortem.status == PostmortemStatus.DRAFT:
        problems.append("Request a review first.")
    elif postmortem.status == PostmortemStatus.IN_REVIEW:
        approvals = list(postmortem.reviews.filter(state=ReviewState.APPROVED))
        if not approvals:
            problems.append("At least one reviewer must approve it.")
        elif len(stale_approvals(postmortem, approvals)) == len(approvals):
            problems.append(
                "It changed after it was approved: a reviewer must approve it as it reads now."
            )
    if incident.status != Status.RESOLVED:
        problems.append(f"{incident.ref} was reopened; resolve it again first.")
    return problems


def _page_url(postmortem: Postmortem) -> str:
    return settings.BASE_URL + postmortem.get_absolute_url()


def _ask_for_review(
    postmortem: Postmortem, reviewers: list[User], *, asked_by: Actor, again: bool, now: datetime
) -> None:
    """Queue an email to each reviewer. The key names this request (the revision it made),
    so a retried transaction adds nothing and the next request asks again."""
    base = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "asked_by": asked_by.display_name,
        "again": again,
        "url": _page_url(postmortem),
        "blameless": BLAMELESS,
    }
    for reviewer in reviewers:
        if not reviewer.email:
            continue
        context = {**base, "reviewer": reviewer}
        email_queue(
            key=f"review:{postmortem.pk}:{reviewer.pk}:r{postmortem.revision}",
            to=reviewer.email,
            subject=render_to_string("postmortems/email/review_subject.txt", context),
            text=render_to_string("postmortems/email/review.txt", context).strip() + "\n",
            html=render_to_string("postmortems/email/review.html", context),
            now=now,
        )


def postmortem_request_review(
    *,
    postmortem: Postmortem,
    actor: Actor,
    reviewers: Iterable[User],
    now: datetime | None = None,
) -> Postmortem:
    """Draft (or in review, to add reviewers) → in review, asking each named reviewer by email.

    Asking someone already asked asks them afresh: their earlier decision is set back to
    waiting. Reviewers not named this time keep theirs."""
    now = now or timezone.now()
    reviewers = _unique(reviewers)
    if not reviewers:
        raise ValidationError({"reviewers": "Name at least one reviewer."})
    if any(reviewer.pk == actor.pk for reviewer in reviewers):
        raise ValidationError({"reviewers": "Ask someone else to review your request."})
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        _check_people("reviewers", reviewers, postmortem.incident, what="review it")
        for reviewer in reviewers:
            ReviewRequest.objects.update_or_create(
                postmortem=postmortem,
                reviewer=reviewer,
                defaults={
                    "requested_by": actor_user(actor),
                    "requested_at": now,
                    "state": ReviewState.PENDING,
                    "comment": "",
                    "decided_at": None,
                    "approved_revision": None,
                },
            )
        postmortem.status = PostmortemStatus.IN_REVIEW
        postmortem.review_requested_at = now
        postmortem.save(update_fields=["status", "review_requested_at"])
        names = ", ".join(reviewer.display_name for reviewer in reviewers)
        record_revision(postmortem, actor=actor, summary=f"Review requested from {names}", now=now)
        _ask_for_review(postmortem, reviewers, asked_by=actor, again=False, now=now)
    return postmortem


def postmortem_review(
    *,
    postmortem: Postmortem,
    actor: User,
    approve: bool,
    comment: str = "",
    now: datetime | None = None,
) -> ReviewRequest:
    """A named reviewer approves (a comment is optional) the postmortem as it reads now, or
    comments to ask for changes."""
    now = now or timezone.now()
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationError({"comment": "Say what should change."})
    _check_text("comment", comment)
    with transaction.atomic():
        postmortem = lock(postmortem)
        require(actor, Action.RESPOND, postmortem.incident)
        review = (
            ReviewRequest.objects.select_for_update()
            .filter(postmortem=postmortem, reviewer=actor)
            .first()
        )
        if review is None:
            raise PermissionDenied("Only the reviewers asked may review this postmortem.")
        if postmortem.status != PostmortemStatus.IN_REVIEW:
            raise PostmortemConflict("This postmortem is not in review.")
        review.state = ReviewState.APPROVED if approve else ReviewState.COMMENTED
        review.comment = comment
        review.decided_at = now
        review.approved_revision = postmortem.revision if approve else None
        review.save(update_fields=["state", "comment", "decided_at", "approved_revision"])
        ReviewComment.objects.create(
            postmortem=postmortem,
            author=actor,
            created_at=now,
            text=comment or "Approved.",
            approval=approve,
        )
    return review


def postmortem_comment(
    *, postmortem: Postmortem, actor: User, text: str, now: datetime | None = None
) -> ReviewComment:
    """Add to the review thread (an author answering a reviewer) until it is published."""
    now = now or timezone.now()
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write a comment."})
    _check_text("text", text)
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        return ReviewComment.objects.create(
            postmortem=postmortem, author=actor, created_at=now, text=text
        )


def postmortem_publish(
    *,
    postmortem: Postmortem,
    actor: Actor,
    source: Source = Source.WEB,
    now: datetime | None = None,
) -> Postmortem:
    """In review with an approval, every gate passed → published and read-only. PublishBlocked
    with the list of what stands in the way otherwise."""
    now = now or timezone.now()
    with transaction.atomic():
        postmortem = lock(postmortem)
        require_edit(actor, postmortem)
        problems = publish_problems(postmortem)
        if problems:
            raise PublishBlocked(problems)
        postmortem.status = PostmortemStatus.PUBLISHED
        postmortem.published_at = now
        postmortem.published_by = actor_user(actor)
        postmortem.save(update_fields=["status", "published_at", "published_by"])
        # The record as published: the header's status and the action items as they are now,
        # not as of the last refresh (which a published postmortem can no longer have).
        note = rerender_generated(postmortem, now=now)
        record_revision(postmortem, actor=actor, summary=f"Published{note}", now=now)
        incident_record_event(
            incident=postmortem.incident,
            kind=EventKind.EDITED,
            source=source,
            actor=actor,
            message=f"{actor.display_name} published the postmortem",
            data={"postmortem": postmortem.pk, "postmortem_status": postmortem.status},
            at=now,
        )
    return postmortem


def postmortem_reopen_review(
    *,
    postmortem: Postmortem,
    actor: Actor,
    source: Source = Source.WEB,
    now: datetime | None = None,
) -> Postmortem:
    """Published → in review, so it can change again; every reviewer is asked afresh."""
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
        postmortem.reviews.update(
            state=ReviewState.PENDING,
            comment="",
            decided_at=None,
            approved_revision=None,
            requested_at=now,
        )
        record_revision(postmortem, actor=actor, summary="Reopened for review", now=now)
        reviewers = [
            review.reviewer
            for review in postmortem.reviews.select_related("reviewer").filter(
                reviewer__is_active=True
            )
        ]
        _ask_for_review(postmortem, reviewers, asked_by=actor, again=True, now=now)
        incident_record_event(
            incident=postmortem.incident,
            kind=EventKind.EDITED,
            source=source,
            actor=actor,
            message=f"{actor.display_name} reopened the postmortem for review",
            data={"postmortem": postmortem.pk, "postmortem_status": postmortem.status},
            at=now,
        )
    return postmortem
