"""Reading, starting and editing an incident's postmortem through
/api/v1/incidents/{n}/postmortem/."""

import pytest

from postmortems.models import ContributingFactor, Postmortem, PostmortemRevision, PostmortemStatus
from postmortems.services.postmortems import postmortem_save_section
from postmortems.services.workflow import postmortem_update_details
from tests.factories import declare, severity
from tests.incidents.api_support import api_client, assert_problem
from tests.postmortems.api_support import (
    postmortem_url,
    resolved,
    section_body,
    with_postmortem,
    written_rows,
)

pytestmark = pytest.mark.django_db

SECTION_FIELDS = {"key", "heading", "body", "generated", "required", "filled", "prompt"}


def test_get_answers_the_document_as_sections_markdown_and_html(commander):
    postmortem = with_postmortem(commander, title="Checkout is failing")
    incident = postmortem.incident

    response = api_client(commander).get(postmortem_url(incident))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["incident"] == {
        "ref": incident.ref,
        "number": incident.number,
        "title": "Checkout is failing",
        "severity": "SEV1",
        "team": None,
    }
    assert body["title"] == f"Postmortem: {incident.ref} - Checkout is failing"
    assert body["status"] == "draft"
    assert body["revision"] == 0
    assert body["authors"] == ["cole"]
    assert body["published_at"] is None
    assert {section["key"] for section in body["sections"]} >= {
        "header",
        "executive-summary",
        "key-figures",
        "root-cause",
    }
    assert all(set(section) == SECTION_FIELDS for section in body["sections"])
    root_cause = next(s for s in body["sections"] if s["key"] == "root-cause")
    assert root_cause["required"] is True
    assert root_cause["generated"] is False
    assert root_cause["filled"] is False
    assert body["markdown"].startswith(f"# Postmortem: {incident.ref} - Checkout is failing\n")
    assert "## Root Cause" in body["markdown"]
    assert "<h2>Root Cause</h2>" in body["html"]
    assert "Root Cause needs to be written." in body["publish_problems"]
    assert "Request a review first." in body["publish_problems"]


def test_get_html_carries_no_script_a_section_was_given(commander):
    postmortem = with_postmortem(commander)
    postmortem_save_section(
        postmortem=postmortem,
        actor=commander,
        key="root-cause",
        body='<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">',
        base_revision=0,
    )

    body = api_client(commander).get(postmortem_url(postmortem.incident)).json()

    assert "<script>alert(1)</script>" in body["markdown"]
    assert "<script" not in body["html"]
    assert "javascript:" not in body["html"]
    assert "onerror" not in body["html"]


def test_a_private_incidents_postmortem_is_404_to_whoever_takes_no_part(commander, outsider):
    postmortem = with_postmortem(commander, private=True)

    response = api_client(outsider).get(postmortem_url(postmortem.incident))

    assert "postmortem" in assert_problem(response, 404)["detail"]


def test_an_incident_without_a_postmortem_is_404(commander):
    incident = resolved(commander)

    assert_problem(api_client(commander).get(postmortem_url(incident)), 404)


def test_post_drafts_the_postmortem_of_a_resolved_incident(commander):
    # SEV3 asks for none on resolve; people may still start one.
    incident = resolved(commander, severity=severity("SEV3"))

    response = api_client(commander).post(postmortem_url(incident))

    assert response.status_code == 201, response.content
    assert response["Location"] == postmortem_url(incident)
    postmortem = Postmortem.objects.get(incident=incident)
    assert response.json()["title"] == postmortem.title
    assert [user.username for user in postmortem.authors.all()] == ["cole"]


def test_post_again_answers_the_postmortem_it_has(commander):
    postmortem = with_postmortem(commander)

    response = api_client(commander).post(postmortem_url(postmortem.incident), {})

    assert response.status_code == 200, response.content
    assert response.json()["revision"] == 0
    assert Postmortem.objects.count() == 1


def test_post_before_the_incident_is_resolved_is_409_and_drafts_nothing(commander):
    incident = declare(commander, title="Still burning")

    response = api_client(commander).post(postmortem_url(incident))

    problem = assert_problem(response, 409)
    assert problem["problems"] == [f"{incident.ref} is not resolved yet."]
    assert not Postmortem.objects.exists()


def test_post_refuses_fields(commander):
    incident = resolved(commander)

    response = api_client(commander).post(postmortem_url(incident), {"template": "x"})

    assert assert_problem(response, 400)["errors"] == {"template": ["Unknown field."]}
    assert not Postmortem.objects.exists()


def test_a_viewer_reads_but_may_not_start_or_edit(commander, viewer):
    postmortem = with_postmortem(commander)
    other = resolved(commander, title="Another")
    client = api_client(viewer)

    assert client.get(postmortem_url(postmortem.incident)).status_code == 200
    assert_problem(client.post(postmortem_url(other)), 403)
    assert_problem(client.patch(postmortem_url(postmortem.incident), {"title": "Mine"}), 403)
    assert not Postmortem.objects.filter(incident=other).exists()
    assert Postmortem.objects.get(pk=postmortem.pk).title != "Mine"


def test_patch_saves_sections_and_details_as_revisions(commander, responder):
    postmortem = with_postmortem(commander)

    response = api_client(commander).patch(
        postmortem_url(postmortem.incident),
        {
            "title": "Checkout outage of March",
            "no_action_reason": "",
            "contributing_factors": ["change", "monitoring-gap"],
            "authors": ["cole", "rosa"],
            "sections": [
                {"key": "root-cause", "body": "A config change halved the pool."},
                {"key": "lessons-learned", "body": "Canary config changes."},
            ],
            "base_revision": 0,
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Checkout outage of March"
    assert sorted(body["contributing_factors"]) == ["change", "monitoring-gap"]
    assert sorted(body["authors"]) == ["cole", "rosa"]
    assert body["revision"] == 3
    root_cause = next(s for s in body["sections"] if s["key"] == "root-cause")
    assert root_cause["body"] == "A config change halved the pool."
    assert root_cause["filled"] is True
    assert section_body(postmortem, "lessons-learned") == "Canary config changes."
    summaries = list(
        PostmortemRevision.objects.filter(postmortem=postmortem)
        .order_by("number")
        .values_list("summary", flat=True)
    )
    assert summaries[1:] == [
        "Edited Root Cause",
        "Edited Lessons Learned",
        "Changed title, contributing factors, authors",
    ]


def test_patch_over_a_section_someone_changed_since_is_409_naming_them(commander, responder):
    postmortem = with_postmortem(commander)
    postmortem_save_section(
        postmortem=postmortem, actor=responder, key="root-cause", body="Rosa's words.",
        base_revision=0,
    )  # fmt: skip
    before = written_rows()

    response = api_client(commander).patch(
        postmortem_url(postmortem.incident),
        {"sections": [{"key": "root-cause", "body": "Cole's words."}], "base_revision": 0},
    )

    problem = assert_problem(response, 409)
    assert "Root Cause was changed by Rosa Responder" in problem["detail"]
    assert problem["problems"] == [problem["detail"]]
    assert written_rows() == before


def test_a_refused_second_section_writes_nothing_of_the_first(commander):
    postmortem = with_postmortem(commander)
    before = written_rows()

    response = api_client(commander).patch(
        postmortem_url(postmortem.incident),
        {
            "title": "Renamed",
            "sections": [
                {"key": "root-cause", "body": "A config change."},
                {"key": "timeline", "body": "My own timeline."},
            ],
            "base_revision": 0,
        },
    )

    problem = assert_problem(response, 400)
    assert problem["errors"] == {"sections.1.key": ["Timeline is generated from the incident."]}
    assert written_rows() == before


def test_a_stale_second_section_writes_nothing_of_the_first(commander, responder):
    postmortem = with_postmortem(commander)
    postmortem_save_section(
        postmortem=postmortem, actor=responder, key="impact", body="Rosa's impact.",
        base_revision=0,
    )  # fmt: skip
    before = written_rows()

    response = api_client(commander).patch(
        postmortem_url(postmortem.incident),
        {
            "sections": [
                {"key": "root-cause", "body": "A config change."},
                {"key": "impact", "body": "Cole's impact."},
            ],
            "base_revision": 0,
        },
    )

    assert_problem(response, 409)
    assert written_rows() == before


@pytest.mark.parametrize(
    ("patch", "errors"),
    [
        (
            {"sections": [{"key": "root-cause", "body": "x"}]},
            {"base_revision": ["Give the revision your text is based on."]},
        ),
        (
            {"sections": [{"key": "nope", "body": "x"}], "base_revision": 0},
            {"sections.0.key": ["This postmortem has no section 'nope'."]},
        ),
        (
            {
                "sections": [{"key": "impact", "body": "x"}, {"key": "impact", "body": "y"}],
                "base_revision": 0,
            },
            {"sections": ["Give each section once."]},
        ),
        (
            {"sections": [{"key": "impact", "body": "x", "heading": "Mine"}], "base_revision": 0},
            {"sections.0.heading": ["Unknown field."]},
        ),
        ({"contributing_factors": ["bad-luck"]}, {"contributing_factors": [
            "Unknown contributing factor bad-luck."
        ]}),
        ({"authors": ["nobody"]}, {"authors": ["Unknown user nobody."]}),
        # DRF would take an object as the list of its keys, and {} as no one at all.
        ({"authors": {}}, {"authors": ["Must be a JSON array."]}),
        ({"contributing_factors": {"change": 1}}, {"contributing_factors": [
            "Must be a JSON array."
        ]}),
        ({"title": "  "}, {"title": ["This field may not be blank."]}),
        ({"status": "published"}, {"status": ["Unknown field."]}),
        ({"base_revision": -1}, {"base_revision": [
            "Ensure this value is greater than or equal to 0."
        ]}),
    ],
)  # fmt: skip
def test_patch_refuses_bad_input_and_writes_nothing(commander, patch, errors):
    postmortem = with_postmortem(commander)
    before = written_rows()

    response = api_client(commander).patch(postmortem_url(postmortem.incident), patch)

    assert assert_problem(response, 400)["errors"] == errors
    assert written_rows() == before


def test_a_retired_factor_stays_but_is_not_given_anew(commander):
    postmortem = with_postmortem(commander)
    postmortem_update_details(
        postmortem=postmortem,
        actor=commander,
        contributing_factors=ContributingFactor.objects.filter(slug="change"),
    )
    ContributingFactor.objects.filter(slug__in=["change", "capacity"]).update(active=False)
    client = api_client(commander)

    kept = client.patch(
        postmortem_url(postmortem.incident), {"contributing_factors": ["change", "process"]}
    )
    refused = client.patch(
        postmortem_url(postmortem.incident), {"contributing_factors": ["capacity"]}
    )

    assert kept.status_code == 200, kept.content
    assert sorted(kept.json()["contributing_factors"]) == ["change", "process"]
    assert assert_problem(refused, 400)["errors"] == {
        "contributing_factors": ["Retired contributing factor: capacity."]
    }


def test_a_published_postmortem_is_read_only(commander):
    postmortem = with_postmortem(commander)
    Postmortem.objects.filter(pk=postmortem.pk).update(status=PostmortemStatus.PUBLISHED)
    before = written_rows()

    response = api_client(commander).patch(
        postmortem_url(postmortem.incident),
        {"sections": [{"key": "root-cause", "body": "Late words."}], "base_revision": 0},
    )

    problem = assert_problem(response, 409)
    assert "read-only" in problem["detail"]
    assert written_rows() == before


def test_options_describe_the_postmortem_and_its_transitions(commander):
    postmortem = with_postmortem(commander)
    client = api_client(commander)

    assert client.options(postmortem_url(postmortem.incident)).status_code == 200
    assert client.options(postmortem_url(postmortem.incident, "transitions")).status_code == 200
    assert client.options("/api/v1/postmortems/").status_code == 200


def _past_any_template(incident):
    """The incident with a summary longer than any template may write (the Django admin has
    no length limit), so neither an admin's template nor the built-in one can render it."""
    from incidents.models import Incident
    from postmortems.rendering import MAX_OUTPUT

    Incident.objects.filter(pk=incident.pk).update(summary="x" * (MAX_OUTPUT + 1))


def test_starting_a_postmortem_that_cannot_be_rendered_is_a_409_that_says_why(commander):
    incident = resolved(commander, severity=severity("SEV3"))
    _past_any_template(incident)

    response = api_client(commander).post(postmortem_url(incident), {}, format="json")

    assert_problem(response, 409)
    assert "could not be drafted" in response.json()["detail"]
    assert "2,000,000 characters" in response.json()["detail"]
    assert not Postmortem.objects.filter(incident=incident).exists()


def test_refreshing_a_postmortem_that_cannot_be_rendered_is_a_409_and_changes_nothing(commander):
    postmortem = with_postmortem(commander)
    sections = postmortem.sections
    _past_any_template(postmortem.incident)

    response = api_client(commander).post(
        postmortem_url(postmortem.incident, "transitions"), {"action": "refresh"}, format="json"
    )

    assert_problem(response, 409)
    assert "could not be refreshed" in response.json()["detail"]
    postmortem.refresh_from_db()
    assert (postmortem.sections, postmortem.revision) == (sections, 0)
