"""The workflow's panel on the postmortem page and its actions: a plain POST redirects to the
page, an htmx POST gets the panel; wrong input comes back with its errors and writes nothing."""

import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from incidents.services import incident_assign_role
from postmortems.models import (
    ContributingFactor,
    Postmortem,
    PostmortemStatus,
    ReviewRequest,
    ReviewState,
)
from postmortems.services.workflow import (
    postmortem_publish,
    postmortem_request_review,
    postmortem_review,
)
from postmortems.views.workflow import panel_context
from tests.factories import declare
from tests.postmortems.workflow_support import (
    approved,
    draft,
    write,
    written_rows,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def act(
    client: Client,
    name: str,
    postmortem: Postmortem,
    data: dict[str, Any] | None = None,
    *,
    htmx: bool = False,
) -> Any:
    url = reverse(f"postmortems:{name}", kwargs={"number": postmortem.incident.number})
    return client.post(url, data or {}, headers=HTMX if htmx else None)


def page_url(postmortem: Postmortem) -> str:
    return f"/incidents/{postmortem.incident.number}/postmortem/"


def is_panel(response: Any) -> bool:
    content = response.content.decode()
    return "<html" not in content and 'id="postmortem-workflow"' in content


def reload(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.get(pk=postmortem.pk)


def rendered_panel(postmortem: Postmortem, user) -> str:
    """The panel as the postmortem page includes it."""
    request = RequestFactory().get(page_url(postmortem))
    request.user = user
    context = {"workflow": panel_context(postmortem=postmortem, request=request)}
    return render_to_string("postmortems/_workflow.html", context, request=request)


def signed_in_as(client: Client, user) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def postmortem(commander) -> Postmortem:
    return draft(commander, title="Checkout is failing")


@pytest.fixture
def author(client, commander) -> Client:
    return signed_in_as(client, commander)


# The panel as each person sees it


def test_a_draft_offers_its_author_review_details_and_a_blocked_publish(postmortem, commander):
    html = rendered_panel(postmortem, commander)

    assert 'id="workflow-request-review-form"' in html
    assert 'id="workflow-details-form"' in html
    assert 'id="workflow-publish" disabled' in html
    assert "Root Cause needs to be written." in html
    assert "Request a review first." in html
    assert "Not yet sent for review." in html


def test_reviewers_are_chosen_among_people_who_may_see_the_incident(
    commander, responder, outsider, viewer, manager
):
    postmortem = draft(commander, private=True)
    incident_assign_role(
        incident=postmortem.incident, actor=commander, role="scribe", user=responder
    )

    html = rendered_panel(postmortem, commander)

    form = html[html.index('id="workflow-request-review-form"') :]
    form = form[: form.index("</form>")]
    assert f'value="{responder.pk}"' in form
    for left_out in (outsider, viewer, manager, commander):
        assert f'value="{left_out.pk}"' not in form


def test_a_requested_reviewer_is_offered_approve_and_comment(postmortem, commander, responder):
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    html = rendered_panel(reload(postmortem), responder)

    assert 'id="workflow-review-form"' in html
    assert "Cole Commander asked for your review." in html
    assert 'id="workflow-approve"' in html


def test_someone_not_asked_is_not_offered_a_review(postmortem, commander, responder, manager):
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])

    html = rendered_panel(reload(postmortem), manager)

    assert 'id="workflow-review-form"' not in html
    assert "Rosa Responder" in html  # the reviewers are listed for all to see


def test_a_viewer_reads_the_state_and_thread_without_forms(
    postmortem, commander, responder, viewer
):
    postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])
    postmortem_review(postmortem=postmortem, actor=responder, approve=False, comment="Which key?")

    html = rendered_panel(reload(postmortem), viewer)

    assert "In review" in html
    assert "Which key?" in html
    assert "<form" not in html


def test_a_published_postmortem_shows_when_and_offers_only_reopening(commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=postmortem, actor=commander)

    html = rendered_panel(reload(postmortem), commander)

    assert "Published" in html and "by Cole Commander" in html
    assert 'id="workflow-reopen"' in html
    for form in ("publish", "details-form", "request-review-form", "comment-form"):
        assert f'id="workflow-{form}"' not in html
    assert 'id="workflow-details-read"' in html


def test_a_postmortem_ready_to_publish_has_its_button_enabled(commander, responder):
    postmortem = approved(draft(commander), commander, responder)

    html = rendered_panel(postmortem, commander)

    assert 'id="workflow-publish">' in html
    assert "workflow-publish-problems" not in html


def test_an_approval_of_words_since_changed_is_shown_as_such_and_can_be_given_again(
    client, commander, responder
):
    postmortem = approved(draft(commander), commander, responder)
    postmortem = write(postmortem, commander, "root-cause", "Also, the retry storm.")

    html = rendered_panel(postmortem, responder)

    assert "Approved, changed since" in html
    assert "It changed since your approval" in html
    assert "0 approvals" in html
    assert 'id="workflow-approve"' in html
    assert "It changed after it was approved" in rendered_panel(postmortem, commander)

    response = act(
        signed_in_as(client, responder), "review", postmortem, {"decision": "approve"}, htmx=True
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "Approved, changed since" not in content
    assert "1 approval" in content
    assert 'id="workflow-publish" disabled' not in rendered_panel(reload(postmortem), commander)


# Requesting review


def test_requesting_review_redirects_to_the_postmortem(author, postmortem, responder):
    response = act(author, "request_review", postmortem, {"reviewers": [responder.pk]})

    assert response.status_code == 302
    assert response["Location"] == page_url(postmortem)
    assert reload(postmortem).status == PostmortemStatus.IN_REVIEW


def test_requesting_review_with_htmx_returns_the_panel(author, postmortem, responder, manager):
    response = act(
        author, "request_review", postmortem, {"reviewers": [responder.pk, manager.pk]}, htmx=True
    )

    assert response.status_code == 200
    assert is_panel(response)
    assert json.loads(response["HX-Trigger"]) == {"postmortem-changed": {}}
    content = response.content.decode()
    assert "In review" in content
    assert content.count("Waiting") == 2


def test_requesting_review_from_nobody_is_an_error_on_the_form(author, postmortem):
    before = written_rows()

    response = act(author, "request_review", postmortem, {}, htmx=True)

    assert response.status_code == 400
    assert is_panel(response)
    assert "Name at least one reviewer." in response.content.decode()
    assert written_rows() == before


def test_a_plain_post_with_errors_is_shown_the_panel_on_a_page(author, postmortem):
    response = act(author, "request_review", postmortem, {"reviewers": ["not-a-person"]})

    assert response.status_code == 400
    content = response.content.decode()
    assert "<html" in content and 'id="postmortem-workflow"' in content
    assert f'href="{page_url(postmortem)}"' in content


def test_a_reviewer_who_may_not_see_the_incident_is_refused(author, commander, outsider):
    postmortem = draft(commander, private=True)
    before = written_rows()

    response = act(author, "request_review", postmortem, {"reviewers": [outsider.pk]}, htmx=True)

    assert response.status_code == 400
    assert "is not one of the available choices" in response.content.decode()
    assert written_rows() == before


# Reviewing


@pytest.fixture
def in_review(postmortem, commander, responder) -> Postmortem:
    return postmortem_request_review(postmortem=postmortem, actor=commander, reviewers=[responder])


def test_a_reviewer_approves_from_the_panel(client, in_review, responder):
    reviewer = signed_in_as(client, responder)

    response = act(reviewer, "review", in_review, {"decision": "approve"}, htmx=True)

    assert response.status_code == 200
    assert ReviewRequest.objects.get(postmortem=in_review).state == ReviewState.APPROVED
    assert "1 approval" in response.content.decode()


def test_a_reviewer_comments_from_the_panel(client, in_review, responder):
    reviewer = signed_in_as(client, responder)

    response = act(reviewer, "review", in_review, {"decision": "comment", "comment": "Why?"})

    assert response.status_code == 302
    assert ReviewRequest.objects.get(postmortem=in_review).state == ReviewState.COMMENTED


def test_a_comment_without_text_is_an_error_on_the_review_form(client, in_review, responder):
    reviewer = signed_in_as(client, responder)
    before = written_rows()

    response = act(reviewer, "review", in_review, {"decision": "comment", "comment": ""}, htmx=True)

    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="workflow-review-form"' in content
    assert "Say what should change." in content
    assert written_rows() == before


def test_an_unknown_decision_is_an_error(client, in_review, responder):
    reviewer = signed_in_as(client, responder)
    before = written_rows()

    response = act(reviewer, "review", in_review, {"decision": "merge"}, htmx=True)

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert written_rows() == before


def test_someone_not_asked_is_refused_a_review(client, in_review, manager):
    other = signed_in_as(client, manager)
    before = written_rows()

    response = act(other, "review", in_review, {"decision": "approve"}, htmx=True)

    assert response.status_code == 403
    assert "Only the reviewers asked may review" in response.content.decode()
    assert written_rows() == before


def test_an_author_comments_in_the_thread(author, in_review):
    response = act(author, "comment", in_review, {"text": "Added the key."}, htmx=True)

    assert response.status_code == 200
    assert "Added the key." in response.content.decode()


# Publishing and reopening


def test_publishing_sends_htmx_to_the_page_again(author, commander, responder):
    postmortem = approved(draft(commander), commander, responder)

    response = act(author, "publish", postmortem, htmx=True)

    assert response.status_code == 200
    assert response["HX-Redirect"] == page_url(postmortem)
    assert reload(postmortem).status == PostmortemStatus.PUBLISHED


def test_a_blocked_publish_says_why_in_the_panel(author, in_review):
    before = written_rows()

    response = act(author, "publish", in_review, htmx=True)

    assert response.status_code == 409
    content = response.content.decode()
    assert is_panel(response)
    assert "Root Cause needs to be written." in content
    assert written_rows() == before


def test_a_blocked_plain_publish_redirects_with_the_reason(author, in_review):
    response = act(author, "publish", in_review)

    assert response.status_code == 302
    assert response["Location"] == page_url(in_review)
    [message] = list(get_messages(response.wsgi_request))
    assert "At least one reviewer must approve it." in str(message)


def test_reopening_redirects_to_the_page(author, commander, responder):
    postmortem = approved(draft(commander), commander, responder)
    postmortem_publish(postmortem=postmortem, actor=commander)

    response = act(author, "reopen", postmortem)

    assert response.status_code == 302
    assert reload(postmortem).status == PostmortemStatus.IN_REVIEW


def test_reopening_a_draft_is_a_conflict(author, postmortem):
    response = act(author, "reopen", postmortem, htmx=True)

    assert response.status_code == 409
    assert "Only a published postmortem can be reopened" in response.content.decode()


# Details


def test_details_are_saved_from_the_panel(author, postmortem, commander, responder):
    change = ContributingFactor.objects.get(slug="change")
    data = {
        "title": "Checkout outage",
        "authors": [commander.pk, responder.pk],
        "contributing_factors": [change.pk],
        "no_action_reason": "",
    }

    response = act(author, "details", postmortem, data, htmx=True)

    assert response.status_code == 200
    postmortem = reload(postmortem)
    assert postmortem.title == "Checkout outage"
    assert list(postmortem.contributing_factors.all()) == [change]
    assert set(postmortem.authors.all()) == {commander, responder}


def test_details_without_a_title_are_an_error(author, postmortem):
    before = written_rows()

    response = act(author, "details", postmortem, {"title": " "}, htmx=True)

    assert response.status_code == 400
    assert 'id="workflow-details-form"' in response.content.decode()
    assert written_rows() == before


def test_a_retired_factor_is_not_offered(author, postmortem):
    retired = ContributingFactor.objects.create(name="Astrology", slug="astrology", active=False)
    before = written_rows()

    response = act(
        author,
        "details",
        postmortem,
        {"title": "Checkout", "contributing_factors": [retired.pk]},
        htmx=True,
    )

    assert response.status_code == 400
    assert "Astrology" not in response.content.decode()
    assert written_rows() == before


# Who may


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("request_review", {"reviewers": []}),
        ("review", {"decision": "approve"}),
        ("comment", {"text": "Hello"}),
        ("details", {"title": "Mine"}),
        ("publish", {}),
        ("reopen", {}),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_viewer_is_refused_every_action(client, in_review, viewer, name, data, htmx):
    before = written_rows()

    response = act(signed_in_as(client, viewer), name, in_review, data, htmx=htmx)

    assert response.status_code == 403
    assert written_rows() == before


@pytest.mark.parametrize("name", ["request_review", "review", "comment", "details", "publish"])
def test_an_outsider_does_not_learn_a_private_postmortem_exists(client, commander, outsider, name):
    postmortem = draft(commander, private=True)
    before = written_rows()

    response = act(signed_in_as(client, outsider), name, postmortem, {"text": "x"})

    assert response.status_code == 404
    assert written_rows() == before


def test_an_incident_without_a_postmortem_is_404(author, commander):
    incident = declare(commander)
    url = reverse("postmortems:publish", kwargs={"number": incident.number})

    assert author.post(url).status_code == 404


def test_actions_ask_anonymous_visitors_to_sign_in(client, postmortem):
    response = act(client, "publish", postmortem)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_actions_take_only_posts(author, postmortem):
    url = reverse("postmortems:publish", kwargs={"number": postmortem.incident.number})

    assert author.get(url).status_code == 405
