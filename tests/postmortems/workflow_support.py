"""What the workflow, publishing and list tests share: resolved incidents with their drafts,
filled in as a team would."""

from typing import Any

from accounts.models import User
from incidents.models import TimelineEvent
from incidents.services import incident_resolve
from postmortems import document
from postmortems.models import (
    OutgoingEmail,
    Postmortem,
    PostmortemRevision,
    ReviewComment,
    ReviewRequest,
)
from postmortems.services.action_items import action_item_create
from postmortems.services.postmortems import postmortem_create, postmortem_save_section
from postmortems.services.workflow import postmortem_request_review, postmortem_review
from tests.factories import declare


def draft(actor: User, **declare_kwargs: Any) -> Postmortem:
    """A resolved incident's postmortem, as drafted from the default template; `actor`
    declared the incident and commanded it, so is the postmortem's author."""
    declare_kwargs.setdefault("commander", actor)
    incident = declare(actor, **declare_kwargs)
    incident_resolve(incident=incident, actor=actor, resolution="Rolled back the deploy.")
    return postmortem_create(incident=incident, actor=actor)


def required_keys(postmortem: Postmortem) -> list[str]:
    return [s.key for s in document.from_json(postmortem.sections) if s.required]


def write(postmortem: Postmortem, actor: User, key: str, words: str) -> Postmortem:
    """Add `words` to a section, as the editor saves it."""
    section = next(s for s in document.from_json(postmortem.sections) if s.key == key)
    return postmortem_save_section(
        postmortem=postmortem,
        actor=actor,
        key=key,
        body=f"{section.body}\n\n{words}",
        base_revision=postmortem.revision,
    )


def fill_required(postmortem: Postmortem, actor: User, *, leave_out: str = "") -> Postmortem:
    for key in required_keys(postmortem):
        if key != leave_out:
            postmortem = write(postmortem, actor, key, f"The team's words on {key}.")
    return postmortem


def add_action_item(postmortem: Postmortem, actor: User) -> None:
    action_item_create(incident=postmortem.incident, actor=actor, title="Alert on error rate")


def approved(postmortem: Postmortem, author: User, reviewer: User) -> Postmortem:
    """Filled in, with an action item, reviewed and approved: ready to publish."""
    postmortem = fill_required(postmortem, author)
    add_action_item(postmortem, author)
    postmortem = postmortem_request_review(
        postmortem=postmortem, actor=author, reviewers=[reviewer]
    )
    postmortem_review(postmortem=postmortem, actor=reviewer, approve=True)
    return Postmortem.objects.get(pk=postmortem.pk)


def written_rows() -> dict[str, Any]:
    """What a workflow action may touch, to prove nothing was written."""
    return {
        "postmortems": list(Postmortem.objects.order_by("pk").values()),
        "authors": list(Postmortem.authors.through.objects.order_by("pk").values()),
        "factors": list(Postmortem.contributing_factors.through.objects.order_by("pk").values()),
        "revisions": PostmortemRevision.objects.count(),
        "reviews": list(ReviewRequest.objects.order_by("pk").values()),
        "comments": ReviewComment.objects.count(),
        "emails": OutgoingEmail.objects.count(),
        "timeline": TimelineEvent.objects.count(),
    }
