"""Moving a postmortem through review with /api/v1/incidents/{n}/postmortem/transitions/."""

import pytest

from postmortems.models import Postmortem, PostmortemStatus, ReviewRequest, ReviewState
from postmortems.services.action_items import action_item_create
from postmortems.services.postmortems import postmortem_save_section
from postmortems.services.workflow import postmortem_request_review
from tests.incidents.api_support import api_client, assert_problem
from tests.postmortems.api_support import (
    postmortem_url,
    section_body,
    with_postmortem,
    written_rows,
)

pytestmark = pytest.mark.django_db

REQUIRED = ("executive-summary", "impact", "root-cause", "response", "lessons-learned")


def _transition(user, postmortem, **body):
    return api_client(user).post(postmortem_url(postmortem.incident, "transitions"), body)


def _filled(commander) -> Postmortem:
    """A postmortem ready for review: every required section written, an action item."""
    postmortem = with_postmortem(commander)
    for key in REQUIRED:
        postmortem = postmortem_save_section(
            postmortem=postmortem,
            actor=commander,
            key=key,
            body=f"Words of the team for {key}.",
            base_revision=postmortem.revision,
        )
    action_item_create(incident=postmortem.incident, actor=commander, title="Canary configs")
    return postmortem


def test_request_review_approve_publish_and_reopen(commander, responder):
    postmortem = _filled(commander)

    asked = _transition(commander, postmortem, action="request_review", reviewers=["rosa"])
    approved = _transition(responder, postmortem, action="approve", comment="Clear and fair.")
    published = _transition(commander, postmortem, action="publish")

    assert asked.status_code == 200, asked.content
    assert asked.json()["status"] == "in_review"
    assert asked.json()["reviews"][0]["reviewer"] == "rosa"
    assert asked.json()["reviews"][0]["state"] == "pending"
    assert approved.status_code == 200, approved.content
    assert approved.json()["reviews"][0]["state"] == "approved"
    assert approved.json()["reviews"][0]["comment"] == "Clear and fair."
    assert published.status_code == 200, published.content
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    assert published.json()["publish_problems"] == []

    reopened = _transition(commander, postmortem, action="reopen")

    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == "in_review"
    assert reopened.json()["reviews"][0]["state"] == "pending"


def test_publishing_too_early_is_409_listing_what_is_missing(commander):
    postmortem = with_postmortem(commander)
    before = written_rows()

    response = _transition(commander, postmortem, action="publish")

    problem = assert_problem(response, 409)
    assert problem["problems"] == [
        "Executive Summary needs to be written.",
        "Impact needs to be written.",
        "Root Cause needs to be written.",
        "Response needs to be written.",
        "Lessons Learned needs to be written.",
        "Add at least one action item, or say why no action is needed.",
        "Request a review first.",
    ]
    assert written_rows() == before


def test_publishing_a_published_postmortem_is_409(commander):
    postmortem = with_postmortem(commander)
    Postmortem.objects.filter(pk=postmortem.pk).update(status=PostmortemStatus.PUBLISHED)

    problem = assert_problem(_transition(commander, postmortem, action="publish"), 409)

    assert "read-only" in problem["detail"]
    assert problem["problems"] == [problem["detail"]]


def test_a_comment_needs_its_text(commander, responder):
    postmortem = _filled(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    response = _transition(responder, postmortem, action="comment")

    assert assert_problem(response, 400)["errors"] == {"comment": ["Say what should change."]}
    assert ReviewRequest.objects.get().state == ReviewState.PENDING


def test_only_the_reviewers_asked_may_approve(commander, responder, outsider):
    postmortem = _filled(commander)
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    assert_problem(_transition(outsider, postmortem, action="approve"), 403)
    assert ReviewRequest.objects.get().state == ReviewState.PENDING


def test_review_is_requested_from_someone(commander):
    postmortem = _filled(commander)

    response = _transition(commander, postmortem, action="request_review")

    assert assert_problem(response, 400)["errors"] == {"reviewers": ["Name at least one reviewer."]}
    assert Postmortem.objects.get(pk=postmortem.pk).status == PostmortemStatus.DRAFT


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"action": "publish", "reviewers": ["rosa"]}, {"reviewers": ["Only for request_review."]}),
        ({"action": "reopen", "comment": "x"}, {"comment": ["Only for approve and comment."]}),
        ({"action": "request_review", "reviewers": ["nobody"]}, {"reviewers": [
            "Unknown user nobody."
        ]}),
        ({"action": "merge"}, {"action": ['"merge" is not a valid choice.']}),
        ({}, {"action": ["This field is required."]}),
    ],
)  # fmt: skip
def test_transitions_refuse_bad_input(commander, responder, body, errors):
    postmortem = _filled(commander)
    before = written_rows()

    response = _transition(commander, postmortem, **body)

    assert assert_problem(response, 400)["errors"] == errors
    assert written_rows() == before


def test_a_viewer_may_not_move_a_postmortem(commander, viewer):
    postmortem = _filled(commander)

    assert_problem(_transition(viewer, postmortem, action="refresh"), 403)


def test_refresh_renders_the_generated_parts_and_keeps_the_teams_words(commander):
    # Drafted before its action item existed: only a refresh puts the item in the document.
    postmortem = _filled(commander)
    assert "Canary configs" not in section_body(postmortem, "action-items")

    response = _transition(commander, postmortem, action="refresh")

    assert response.status_code == 200, response.content
    assert section_body(postmortem, "root-cause") == "Words of the team for root-cause."
    assert "Canary configs" in section_body(postmortem, "action-items")


def test_transitions_of_an_incident_without_a_postmortem_are_404(commander):
    postmortem = with_postmortem(commander)
    Postmortem.objects.filter(pk=postmortem.pk).delete()

    assert_problem(_transition(commander, postmortem, action="refresh"), 404)
