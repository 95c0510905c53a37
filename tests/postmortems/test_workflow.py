"""The postmortem's workflow at the service level: draft → in review → published → in review."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Role
from incidents.models import EventKind
from incidents.services import incident_assign_role
from postmortems.models import (
    ContributingFactor,
    OutgoingEmail,
    Postmortem,
    PostmortemStatus,
    ReviewComment,
    ReviewRequest,
    ReviewState,
)
from postmortems.services.postmortems import PostmortemConflict
from postmortems.services.workflow import (
    postmortem_comment,
    postmortem_publish,
    postmortem_reopen_review,
    postmortem_request_review,
    postmortem_review,
    postmortem_update_details,
)
from tests.factories import UserFactory
from tests.postmortems.workflow_support import (
    approved,
    draft,
)

pytestmark = pytest.mark.django_db


def reload(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.get(pk=postmortem.pk)


def state_of(postmortem: Postmortem, reviewer) -> str:
    return ReviewRequest.objects.get(postmortem=postmortem, reviewer=reviewer).state


def test_requesting_review_moves_a_draft_to_in_review(commander, responder, clock):
    postmortem = draft(commander)

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    postmortem = reload(postmortem)
    assert postmortem.status == PostmortemStatus.IN_REVIEW
    assert postmortem.review_requested_at == clock.now
    review = ReviewRequest.objects.get(postmortem=postmortem)
    assert (review.reviewer, review.requested_by, review.state) == (
        responder,
        commander,
        ReviewState.PENDING,
    )


def test_requesting_review_is_a_revision_naming_the_reviewers(commander, responder, manager):
    postmortem = draft(commander)

    postmortem_request_review(
        postmortem=postmortem, actor=commander, reviewers=[responder, manager]
    )

    latest = reload(postmortem).revisions.first()
    assert latest.summary == "Review requested from Rosa Responder, Mona Manager"
    assert latest.author == commander


def test_requesting_review_needs_a_reviewer(commander):
    postmortem = draft(commander)

    with pytest.raises(ValidationError, match="Name at least one reviewer"):
        postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[])

    assert reload(postmortem).status == PostmortemStatus.DRAFT


def test_an_author_cannot_review_their_own_request(commander, responder):
    postmortem = draft(commander)

    with pytest.raises(ValidationError, match="Ask someone else"):
        postmortem_request_review(
            postmortem=postmortem, actor=commander, reviewers=[responder, commander]
        )

    assert not ReviewRequest.objects.exists()


def test_a_private_incident_is_reviewed_only_by_people_who_may_see_it(
    commander, responder, outsider
):
    postmortem = draft(commander, private=True)
    incident_assign_role(
        incident=postmortem.incident, actor=commander, role="scribe", user=responder
    )

    with pytest.raises(ValidationError, match="Otto Outsider may not see INC-"):
        postmortem_request_review(
            postmortem=postmortem, actor=commander, reviewers=[responder, outsider]
        )

    # Nothing is written: not even the reviewer named first, nor an email.
    assert not ReviewRequest.objects.exists()
    assert not OutgoingEmail.objects.filter(key__startswith="review:").exists()
    assert reload(postmortem).status == PostmortemStatus.DRAFT


def test_a_participant_of_a_private_incident_may_review_it(commander, responder):
    postmortem = draft(commander, private=True)
    incident_assign_role(
        incident=postmortem.incident, actor=commander, role="scribe", user=responder
    )

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    assert state_of(postmortem, responder) == ReviewState.PENDING


def test_a_viewer_cannot_be_a_reviewer(commander, viewer):
    postmortem = draft(commander)

    with pytest.raises(ValidationError, match="Vic Viewer has a read-only role"):
        postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[viewer])


def test_a_deactivated_user_cannot_be_a_reviewer(commander):
    gone = UserFactory(first_name="Gus", last_name="Gone", is_active=False)
    postmortem = draft(commander)

    with pytest.raises(ValidationError, match="Gus Gone can no longer sign in"):
        postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[gone])


def test_asking_again_sets_a_decided_reviewer_back_to_waiting(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="Too vague.")

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    review = ReviewRequest.objects.get(postmortem=postmortem, reviewer=responder)
    assert (review.state, review.comment, review.decided_at) == (ReviewState.PENDING, "", None)
    # What they said stays in the thread.
    assert list(postmortem.comments.values_list("text", flat=True)) == ["Too vague."]


def test_adding_a_reviewer_keeps_the_others_decisions(commander, responder, manager):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    postmortem_review(postmortem=postmortem, actor=responder, approve=True)

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[manager])

    assert state_of(postmortem, responder) == ReviewState.APPROVED
    assert state_of(postmortem, manager) == ReviewState.PENDING


def test_each_reviewer_is_emailed_once_per_request(commander, responder, manager):
    postmortem = draft(commander, title="Checkout is failing")

    postmortem_request_review(
        postmortem=postmortem, actor=commander, reviewers=[responder, manager, responder]
    )

    emails = OutgoingEmail.objects.filter(key__startswith="review:").order_by("to")
    assert [email.to for email in emails] == [manager.email, responder.email]
    email = emails.get(to=responder.email)
    assert email.subject == f"Review requested: {postmortem.title}"
    assert f"Cole Commander asks you to review the postmortem of {postmortem.incident.ref}" in (
        email.text
    )
    assert f"/incidents/{postmortem.incident.number}/postmortem/" in email.text


def test_the_review_email_has_an_html_part_with_the_link_and_escaped_titles(
    commander, responder, settings
):
    settings.BASE_URL = "https://tocsin.example"
    postmortem = draft(commander, title="Checkout <b>failing</b>")

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    email = OutgoingEmail.objects.get(key__startswith="review:")
    url = f"https://tocsin.example/incidents/{postmortem.incident.number}/postmortem/"
    assert f'<a href="{url}"' in email.html
    assert "Cole Commander asks you to review" in email.html
    assert "Checkout &lt;b&gt;failing&lt;/b&gt;" in email.html
    assert "<b>failing</b>" in email.text  # the text part is plain text, not escaped
    assert "Blameless" in email.text


def test_asking_again_emails_the_reviewer_again(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    assert OutgoingEmail.objects.filter(key__startswith="review:", to=responder.email).count() == 2


def test_a_reviewer_without_an_email_address_is_asked_on_the_page_only(commander):
    quiet = UserFactory(email="", role=Role.RESPONDER)
    postmortem = draft(commander)

    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[quiet])

    assert state_of(postmortem, quiet) == ReviewState.PENDING
    assert not OutgoingEmail.objects.filter(key__startswith="review:").exists()


def test_a_reviewer_approves(commander, responder, clock):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    clock.advance(hours=2)

    postmortem_review(postmortem=postmortem, actor=responder, approve=True)

    review = ReviewRequest.objects.get(postmortem=postmortem)
    assert (review.state, review.decided_at) == (ReviewState.APPROVED, clock.now)
    comment = ReviewComment.objects.get(postmortem=postmortem)
    assert (comment.author, comment.text, comment.approval) == (responder, "Approved.", True)


def test_a_reviewer_comments_to_ask_for_changes(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    postmortem_review(
        postmortem=postmortem, actor=responder, approve=False, comment="  Name the config key. "
    )

    assert state_of(postmortem, responder) == ReviewState.COMMENTED
    comment = ReviewComment.objects.get(postmortem=postmortem)
    assert (comment.text, comment.approval) == ("Name the config key.", False)


def test_a_comment_without_words_is_refused(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    with pytest.raises(ValidationError, match="Say what should change"):
        postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="  ")

    assert state_of(postmortem, responder) == ReviewState.PENDING
    assert not ReviewComment.objects.exists()


def test_only_the_reviewers_asked_may_review(commander, responder, manager):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    with pytest.raises(PermissionDenied, match="Only the reviewers asked"):
        postmortem_review(postmortem=postmortem, actor=manager, approve=True)

    assert state_of(postmortem, responder) == ReviewState.PENDING


def test_an_author_answers_in_the_review_thread(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="Why?")

    postmortem_comment(postmortem=postmortem, actor=commander, text="Because the cache was cold.")

    thread = list(postmortem.comments.values_list("author__username", "text"))
    assert thread == [("rosa", "Why?"), ("cole", "Because the cache was cold.")]


def test_publishing_makes_it_published_and_says_so_on_the_incident(commander, responder, clock):
    postmortem = approved(draft(commander), commander, responder)
    clock.advance(hours=1)

    postmortem_publish(postmortem=postmortem, actor=commander)

    postmortem = reload(postmortem)
    assert postmortem.status == PostmortemStatus.PUBLISHED
    assert (postmortem.published_at, postmortem.published_by) == (clock.now, commander)
    assert postmortem.revisions.first().summary == "Published"
    entry = postmortem.incident.timeline.order_by("occurred_at", "id").last()
    assert (entry.kind, entry.actor, entry.message) == (
        EventKind.EDITED,
        commander,
        "Cole Commander published the postmortem",
    )
    assert entry.occurred_at == clock.now


def test_reviewing_a_published_postmortem_is_refused(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=postmortem, actor=commander)

    with pytest.raises(PostmortemConflict, match="not in review"):
        postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="Late.")


def test_reopening_asks_every_reviewer_afresh(commander, responder, manager):
    postmortem = draft(commander)
    postmortem = approved(postmortem, commander, responder)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[manager])
    postmortem_review(postmortem=postmortem, actor=manager, approve=True)
    postmortem_publish(postmortem=postmortem, actor=commander)
    emails_before = OutgoingEmail.objects.count()

    postmortem_reopen_review(postmortem=postmortem, actor=responder)

    postmortem = reload(postmortem)
    assert postmortem.status == PostmortemStatus.IN_REVIEW
    assert (postmortem.published_at, postmortem.published_by) == (None, None)
    assert set(postmortem.reviews.values_list("state", flat=True)) == {ReviewState.PENDING}
    assert postmortem.revisions.first().summary == "Reopened for review"
    asked_again = OutgoingEmail.objects.order_by("pk")[emails_before:]
    assert sorted(email.to for email in asked_again) == sorted([responder.email, manager.email])
    assert all("asks you again to review" in email.text for email in asked_again)
    assert all("asks you again to review" in email.html for email in asked_again)
    assert all(email.subject.startswith("Review again: ") for email in asked_again)
    entry = postmortem.incident.timeline.order_by("occurred_at", "id").last()
    assert entry.message == "Rosa Responder reopened the postmortem for review"


def test_only_a_published_postmortem_is_reopened(commander):
    postmortem = draft(commander)

    with pytest.raises(PostmortemConflict, match="Only a published postmortem"):
        postmortem_reopen_review(postmortem=postmortem, actor=commander)

    assert reload(postmortem).status == PostmortemStatus.DRAFT


def test_the_whole_workflow_leaves_a_revision_per_step(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=postmortem, actor=commander)
    postmortem_reopen_review(postmortem=postmortem, actor=commander)

    summaries = list(
        reload(postmortem).revisions.order_by("number").values_list("summary", flat=True)
    )
    assert summaries[0].startswith("Drafted from the incident")
    assert summaries[-3:] == [
        "Review requested from Rosa Responder",
        "Published",
        "Reopened for review",
    ]


@pytest.mark.parametrize(
    "act",
    [
        "request_review",
        "comment",
        "details",
        "publish",
        "reopen",
    ],
)
def test_a_viewer_may_do_none_of_it(act, commander, responder, viewer):
    postmortem = approved(draft(commander), commander, responder)
    if act == "reopen":
        postmortem_publish(postmortem=postmortem, actor=commander)
    revision = reload(postmortem).revision
    actions = {
        "request_review": lambda: postmortem_request_review(
            postmortem=postmortem, actor=viewer, reviewers=[responder]
        ),
        "comment": lambda: postmortem_comment(postmortem=postmortem, actor=viewer, text="Hi"),
        "details": lambda: postmortem_update_details(
            postmortem=postmortem, actor=viewer, title="Mine now"
        ),
        "publish": lambda: postmortem_publish(postmortem=postmortem, actor=viewer),
        "reopen": lambda: postmortem_reopen_review(postmortem=postmortem, actor=viewer),
    }

    with pytest.raises(PermissionDenied):
        actions[act]()

    assert reload(postmortem).revision == revision


def test_a_viewer_named_before_their_demotion_cannot_review(commander, responder):
    postmortem = draft(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    responder.role = Role.VIEWER
    responder.save(update_fields=["role"])

    with pytest.raises(PermissionDenied):
        postmortem_review(postmortem=postmortem, actor=responder, approve=True)

    assert state_of(postmortem, responder) == ReviewState.PENDING


def test_an_outsider_cannot_touch_a_private_incidents_postmortem(commander, outsider):
    postmortem = draft(commander, private=True)

    with pytest.raises(PermissionDenied):
        postmortem_update_details(postmortem=postmortem, actor=outsider, title="Seen it")
    with pytest.raises(PermissionDenied):
        postmortem_comment(postmortem=postmortem, actor=outsider, text="Hello")

    assert reload(postmortem).title != "Seen it"


def test_details_change_in_one_revision(commander, responder):
    postmortem = draft(commander)
    change = ContributingFactor.objects.get(slug="change")
    capacity = ContributingFactor.objects.get(slug="capacity")

    postmortem_update_details(
        postmortem=postmortem,
        actor=commander,
        title="  Checkout outage after the Friday deploy ",
        contributing_factors=[change, capacity],
        authors=[commander, responder],
        no_action_reason="A vendor outage; nothing of ours to change.",
    )

    postmortem = reload(postmortem)
    assert postmortem.title == "Checkout outage after the Friday deploy"
    assert set(postmortem.contributing_factors.all()) == {change, capacity}
    assert set(postmortem.authors.all()) == {commander, responder}
    assert postmortem.no_action_reason == "A vendor outage; nothing of ours to change."
    assert postmortem.revisions.first().summary == (
        "Changed title, reason for no action items, contributing factors, authors"
    )


def test_details_unchanged_make_no_revision(commander):
    postmortem = draft(commander)
    revision = postmortem.revision

    postmortem_update_details(
        postmortem=postmortem, actor=commander, title=postmortem.title, authors=[commander]
    )

    assert reload(postmortem).revision == revision


def test_a_blank_title_is_refused(commander):
    postmortem = draft(commander)

    with pytest.raises(ValidationError, match="Give the postmortem a title"):
        postmortem_update_details(postmortem=postmortem, actor=commander, title="   ")


def test_a_retired_factor_stays_where_it_is_but_is_not_added(commander):
    first, second = draft(commander), draft(commander)
    retired = ContributingFactor.objects.get(slug="testing-gap")
    postmortem_update_details(postmortem=first, actor=commander, contributing_factors=[retired])
    ContributingFactor.objects.filter(pk=retired.pk).update(active=False)
    retired.refresh_from_db()
    change = ContributingFactor.objects.get(slug="change")

    postmortem_update_details(
        postmortem=first, actor=commander, contributing_factors=[retired, change]
    )
    with pytest.raises(ValidationError, match="Testing gap is no longer in use"):
        postmortem_update_details(
            postmortem=second, actor=commander, contributing_factors=[retired]
        )

    assert set(reload(first).contributing_factors.all()) == {retired, change}
    assert not reload(second).contributing_factors.exists()


def test_an_author_must_be_able_to_see_a_private_incident(commander, outsider):
    postmortem = draft(commander, private=True)

    with pytest.raises(ValidationError, match="Otto Outsider may not see"):
        postmortem_update_details(postmortem=postmortem, actor=commander, authors=[outsider])

    assert list(reload(postmortem).authors.all()) == [commander]
