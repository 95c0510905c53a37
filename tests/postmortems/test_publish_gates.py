"""Each gate alone keeps a postmortem from being published, with its own message; a published
postmortem is read-only until its review is reopened."""

import pytest

from incidents.services import incident_reopen, incident_update_details
from postmortems import document
from postmortems.models import Postmortem, PostmortemStatus
from postmortems.services.postmortems import (
    PostmortemConflict,
    postmortem_refresh,
    postmortem_save_section,
)
from postmortems.services.workflow import (
    PublishBlocked,
    postmortem_comment,
    postmortem_publish,
    postmortem_reopen_review,
    postmortem_request_review,
    postmortem_review,
    postmortem_update_details,
    publish_problems,
)
from tests.postmortems.workflow_support import (
    add_action_item,
    approved,
    draft,
    fill_required,
    write,
)

pytestmark = pytest.mark.django_db

REQUIRED_HEADINGS = {
    "executive-summary": "Executive Summary",
    "impact": "Impact",
    "root-cause": "Root Cause",
    "response": "Response",
    "lessons-learned": "Lessons Learned",
}


def reload(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.get(pk=postmortem.pk)


def refused_with(postmortem: Postmortem, actor) -> list[str]:
    """Try to publish; what it was refused for. Nothing may have changed."""
    revision = reload(postmortem).revision
    with pytest.raises(PublishBlocked) as refusal:
        postmortem_publish(postmortem=postmortem, actor=actor)
    after = reload(postmortem)
    assert after.status != PostmortemStatus.PUBLISHED
    assert after.revision == revision
    return refusal.value.problems


def in_review(postmortem: Postmortem, author, reviewer, *, approve: bool = True) -> Postmortem:
    postmortem = postmortem_request_review(
        postmortem=postmortem, actor=author, reviewers=[reviewer]
    )
    if approve:
        postmortem_review(postmortem=postmortem, actor=reviewer, approve=True)
    return reload(postmortem)


def test_a_postmortem_that_passes_every_gate_publishes(commander, responder):
    postmortem = approved(draft(commander), commander, responder)

    assert publish_problems(postmortem) == []
    postmortem_publish(postmortem=postmortem, actor=commander)
    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_the_template_marks_the_playbooks_sections_required(commander):
    sections = document.from_json(draft(commander).sections)

    assert {s.key: s.heading for s in sections if s.required} == REQUIRED_HEADINGS


@pytest.mark.parametrize("key", REQUIRED_HEADINGS)
def test_an_unwritten_required_section_blocks_publishing(key, commander, responder):
    postmortem = fill_required(draft(commander), commander, leave_out=key)
    add_action_item(postmortem, commander)
    postmortem = in_review(postmortem, commander, responder)

    assert refused_with(postmortem, commander) == [f"{REQUIRED_HEADINGS[key]} needs to be written."]


def test_words_the_template_filled_in_do_not_count_as_written(commander, responder):
    # The executive summary starts with the incident's summary and resolution: facts the
    # incident gave, not the team's words.
    postmortem = draft(commander, summary="Checkout returned 500s for 20 minutes.")
    summary = next(
        s for s in document.from_json(postmortem.sections) if s.key == "executive-summary"
    )
    assert "Checkout returned 500s" in summary.body
    postmortem = fill_required(postmortem, commander, leave_out="executive-summary")
    add_action_item(postmortem, commander)
    postmortem = in_review(postmortem, commander, responder)

    assert refused_with(postmortem, commander) == ["Executive Summary needs to be written."]


def test_a_section_written_then_emptied_blocks_again(commander, responder):
    postmortem = fill_required(draft(commander), commander)
    add_action_item(postmortem, commander)
    section = next(s for s in document.from_json(postmortem.sections) if s.key == "root-cause")
    postmortem = postmortem_save_section(
        postmortem=postmortem,
        actor=commander,
        key="root-cause",
        body=section.generated_body,
        base_revision=postmortem.revision,
    )
    postmortem = in_review(postmortem, commander, responder)

    assert refused_with(postmortem, commander) == ["Root Cause needs to be written."]


def test_no_action_item_and_no_reason_blocks_publishing(commander, responder):
    postmortem = in_review(fill_required(draft(commander), commander), commander, responder)

    assert refused_with(postmortem, commander) == [
        "Add at least one action item, or say why no action is needed."
    ]


def test_a_written_reason_for_no_action_opens_that_gate(commander, responder):
    postmortem = fill_required(draft(commander), commander)
    postmortem_update_details(
        postmortem=postmortem, actor=commander, no_action_reason="A vendor's outage."
    )
    postmortem = in_review(postmortem, commander, responder)

    postmortem_publish(postmortem=postmortem, actor=commander)

    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_an_action_item_of_another_incident_does_not_count(commander, responder):
    other = draft(commander)
    add_action_item(other, commander)
    postmortem = in_review(fill_required(draft(commander), commander), commander, responder)

    assert refused_with(postmortem, commander) == [
        "Add at least one action item, or say why no action is needed."
    ]


def test_a_draft_must_be_reviewed_first(commander):
    postmortem = fill_required(draft(commander), commander)
    add_action_item(postmortem, commander)

    assert refused_with(postmortem, commander) == ["Request a review first."]


def test_review_without_an_approval_blocks_publishing(commander, responder):
    postmortem = fill_required(draft(commander), commander)
    add_action_item(postmortem, commander)
    postmortem = in_review(postmortem, commander, responder, approve=False)

    assert refused_with(postmortem, commander) == ["At least one reviewer must approve it."]


def test_a_comment_is_not_an_approval(commander, responder):
    postmortem = fill_required(draft(commander), commander)
    add_action_item(postmortem, commander)
    postmortem = in_review(postmortem, commander, responder, approve=False)
    postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="Hmm.")

    assert refused_with(postmortem, commander) == ["At least one reviewer must approve it."]


def test_an_approval_asked_for_again_no_longer_counts(commander, responder):
    postmortem = approved(draft(commander), commander, responder)

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    assert refused_with(postmortem, commander) == ["At least one reviewer must approve it."]


def test_a_reopened_incident_blocks_publishing(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    incident_reopen(incident=postmortem.incident, actor=commander, reason="It came back.")

    assert refused_with(postmortem, commander) == [
        f"{postmortem.incident.ref} was reopened; resolve it again first."
    ]


def test_the_refusal_lists_every_problem_in_its_message(commander):
    postmortem = draft(commander)

    with pytest.raises(PostmortemConflict) as refusal:
        postmortem_publish(postmortem=postmortem, actor=commander)

    message = str(refusal.value)
    for heading in REQUIRED_HEADINGS.values():
        assert f"{heading} needs to be written." in message
    assert "Add at least one action item" in message
    assert "Request a review first." in message


def test_publishing_twice_is_refused(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=postmortem, actor=commander)

    with pytest.raises(PostmortemConflict, match="published and read-only"):
        postmortem_publish(postmortem=postmortem, actor=commander)


@pytest.fixture
def published(commander, responder) -> Postmortem:
    postmortem = approved(draft(commander), commander, responder)
    return postmortem_publish(postmortem=postmortem, actor=commander)


def test_a_published_postmortems_sections_cannot_be_saved(published, commander):
    revision = published.revision

    with pytest.raises(PostmortemConflict, match="read-only"):
        write(published, commander, "root-cause", "An afterthought.")

    assert reload(published).revision == revision
    assert "An afterthought." not in str(reload(published).sections)


def test_a_published_postmortem_is_not_refreshed_from_its_incident(published, commander):
    before = reload(published)

    with pytest.raises(PostmortemConflict, match="read-only"):
        postmortem_refresh(postmortem=published, actor=commander)

    after = reload(published)
    assert (after.revision, after.refreshed_at) == (before.revision, before.refreshed_at)


def test_a_published_postmortems_details_cannot_change(published, commander):
    with pytest.raises(PostmortemConflict, match="read-only"):
        postmortem_update_details(postmortem=published, actor=commander, title="Renamed")

    assert reload(published).title != "Renamed"


def test_a_published_postmortem_takes_no_new_review_or_comment(published, commander, manager):
    with pytest.raises(PostmortemConflict, match="read-only"):
        postmortem_request_review(postmortem=published, actor=commander, reviewers=[manager])
    with pytest.raises(PostmortemConflict, match="read-only"):
        postmortem_comment(postmortem=published, actor=commander, text="One more thing.")

    assert not published.reviews.filter(reviewer=manager).exists()
    assert not published.comments.filter(text="One more thing.").exists()


def test_reopening_review_makes_it_editable_again(published, commander, responder):
    postmortem_reopen_review(postmortem=published, actor=commander)

    postmortem = write(reload(published), commander, "root-cause", "An afterthought.")

    assert "An afterthought." in str(postmortem.sections)
    # And it needs a fresh approval before it is published again.
    assert refused_with(postmortem, commander) == ["At least one reviewer must approve it."]
    postmortem_review(postmortem=postmortem, actor=responder, approve=True)
    postmortem_publish(postmortem=postmortem, actor=commander)
    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_an_edit_after_the_approval_needs_the_reviewer_to_approve_again(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem = write(postmortem, commander, "root-cause", "Also, the retry storm.")

    assert refused_with(postmortem, commander) == [
        "It changed after it was approved: a reviewer must approve it as it reads now."
    ]
    postmortem_review(postmortem=postmortem, actor=responder, approve=True)
    postmortem_publish(postmortem=postmortem, actor=commander)
    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Checkout outage, take two"},
        {"no_action_reason": "Nothing more to do."},
        {"authors": "manager"},
    ],
    ids=["title", "reason", "authors"],
)
def test_a_change_of_details_after_the_approval_needs_a_new_one(
    change, commander, responder, manager
):
    postmortem = approved(draft(commander), commander, responder)
    if change.get("authors"):
        change = {"authors": [commander, manager]}
    postmortem_update_details(postmortem=postmortem, actor=commander, **change)

    assert refused_with(postmortem, commander) == [
        "It changed after it was approved: a reviewer must approve it as it reads now."
    ]


def test_one_approval_of_the_words_as_they_read_now_is_enough(commander, responder, manager):
    postmortem = approved(draft(commander), commander, responder)
    postmortem = postmortem_request_review(
        postmortem=postmortem, actor=commander, reviewers=[manager]
    )
    postmortem = write(postmortem, commander, "root-cause", "Also, the retry storm.")
    postmortem_review(postmortem=postmortem, actor=manager, approve=True)

    postmortem_publish(postmortem=reload(postmortem), actor=commander)

    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_adding_a_reviewer_after_an_approval_keeps_it(commander, responder, manager):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[manager])

    postmortem_publish(postmortem=reload(postmortem), actor=commander)

    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_an_edit_undone_before_publishing_leaves_the_approval_standing(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    before = next(s for s in document.from_json(postmortem.sections) if s.key == "root-cause")
    postmortem = write(postmortem, commander, "root-cause", "A guess.")
    postmortem = postmortem_save_section(
        postmortem=postmortem,
        actor=commander,
        key="root-cause",
        body=before.body,
        base_revision=postmortem.revision,
    )

    assert publish_problems(postmortem) == []


def test_refreshing_the_generated_parts_after_the_approval_keeps_it(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    incident_update_details(
        incident=postmortem.incident, actor=commander, title="Checkout failed for EU cards"
    )
    refreshed = postmortem_refresh(postmortem=postmortem, actor=commander)
    assert refreshed.revision > postmortem.revision  # the refresh changed the document

    postmortem_publish(postmortem=refreshed, actor=commander)

    assert reload(postmortem).status == PostmortemStatus.PUBLISHED
