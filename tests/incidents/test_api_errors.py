"""Every error answers RFC 9457 problem details, and a refused request writes nothing."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from incidents import services
from incidents.models import SUMMARY_MAX_LENGTH, RoleKind, Status
from tests.factories import ServiceFactory, UserFactory, declare
from tests.incidents.api_support import (
    API,
    JsonClient,
    api_client,
    assert_problem,
    incident_url,
    written_rows,
)

VALID = {"title": "Checkout is failing", "severity": "SEV2"}


def _declare_refused(client: JsonClient, body: Any, status: int = 400) -> dict[str, Any]:
    before = written_rows()
    response = client.post(f"{API}/incidents/", body)
    problem = assert_problem(response, status)
    assert written_rows() == before
    return problem


def test_malformed_json_is_problem_400(responder):
    before = written_rows()

    response = api_client(responder).post(
        f"{API}/incidents/", '{"title": ', content_type="application/json"
    )

    assert "JSON parse error" in assert_problem(response, 400)["detail"]
    assert written_rows() == before


def test_a_body_that_is_not_an_object_is_problem_400(responder):
    problem = _declare_refused(api_client(responder), ["title"])

    assert list(problem["errors"]) == ["non_field_errors"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"severity": "SEV2"}, "title", "This field is required."),
        ({**VALID, "title": "   "}, "title", "This field may not be blank."),
        ({"title": "Checkout"}, "severity", "This field is required."),
        ({**VALID, "severity": "SEV9"}, "severity", "Unknown severity SEV9."),
        ({**VALID, "services": ["nope"]}, "services", "Unknown service nope."),
        # DRF would take an object as the list of its keys, and {} as no services at all.
        ({**VALID, "services": {}}, "services", "Must be a JSON array."),
        ({**VALID, "team": "nope"}, "team", "Unknown team nope."),
        ({**VALID, "commander": "nobody"}, "commander", "Unknown user nobody."),
        ({**VALID, "private": "maybe"}, "private", "Must be a valid boolean."),
        (
            {**VALID, "labels": ["a"]},
            "labels",
            'Expected a dictionary of items but got type "list".',
        ),
        ({**VALID, "labels": {"tier": 1}}, "labels.tier", "Label values must be strings."),
        ({**VALID, "number": 7}, "number", "Unknown field."),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_declare_with_a_bad_field_is_problem_400(responder, body, field, message):
    ServiceFactory(slug="checkout")

    problem = _declare_refused(api_client(responder), body)

    assert problem["errors"] == {field: [message]}
    assert problem["detail"] == "The request has invalid fields."


def test_declare_reports_every_bad_field_at_once(responder):
    problem = _declare_refused(
        api_client(responder), {"severity": "SEV9", "services": ["nope"], "colour": "red"}
    )

    assert set(problem["errors"]) == {"title", "severity", "services", "colour"}


def test_declare_with_a_viewer_as_commander_is_problem_400(responder, viewer):
    problem = _declare_refused(api_client(responder), {**VALID, "commander": "vic"})

    assert problem["errors"] == {"commander": ["vic cannot take an incident role."]}


def test_declare_with_an_inactive_commander_is_problem_400(responder):
    UserFactory(username="gone", is_active=False)

    problem = _declare_refused(api_client(responder), {**VALID, "commander": "gone"})

    assert problem["errors"] == {"commander": ["Unknown user gone."]}


def test_declare_with_a_start_in_the_future_is_problem_400(responder):
    tomorrow = timezone.now() + timedelta(days=1)

    problem = _declare_refused(api_client(responder), {**VALID, "started_at": tomorrow.isoformat()})

    assert problem["errors"] == {"started_at": ["The start of impact cannot be in the future."]}


def test_declare_with_an_unparsable_start_is_problem_400(responder):
    problem = _declare_refused(api_client(responder), {**VALID, "started_at": "last tuesday"})

    assert list(problem["errors"]) == ["started_at"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("status", {"status": "sleeping"}, "status"),
        ("status", {}, "status"),
        ("severity", {"severity": "SEV9"}, "severity"),
        ("roles", {"role": "boss", "user": "rosa"}, "role"),
        ("roles", {"role": "scribe", "user": "nobody"}, "user"),
        ("notes", {"text": "  "}, "text"),
        ("notes", {"note": "typo in the key"}, "note"),
        ("updates", {"public": True}, "message"),
        ("updates", {"message": "x", "public": "loudly"}, "public"),
        ("resolve", {"resolution": ["no"]}, "resolution"),
    ],
)
def test_action_with_a_bad_field_is_problem_400(responder, action, body, field):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).post(incident_url(incident, action), body)

    assert field in assert_problem(response, 400)["errors"]
    assert written_rows() == before


def test_role_for_a_viewer_is_problem_400(responder, viewer):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).post(
        incident_url(incident, "roles"), {"role": "scribe", "user": "vic"}
    )

    assert assert_problem(response, 400)["errors"] == {
        "user": ["vic cannot take an incident role."]
    }
    assert written_rows() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"services": ["nope"]}, "services"),
        ({"severity": "SEV9"}, "severity"),
        ({"status": "sleeping"}, "status"),
        ({"commander": "rosa"}, "commander"),
        ({"labels": {"tier": None}}, "labels.tier"),
    ],
)
def test_patch_with_a_bad_field_is_problem_400_and_changes_nothing(responder, body, field):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).patch(incident_url(incident), {**body, "summary": "new"})

    assert field in assert_problem(response, 400)["errors"]
    assert written_rows() == before
    incident.refresh_from_db()
    assert incident.summary == ""


def test_patch_with_an_impact_start_after_detection_is_problem_400_and_changes_nothing(
    responder,
):
    # Time to detect is detection minus the start: the report would show it negative.
    incident = declare(responder, detected_at=timezone.now() - timedelta(minutes=30))
    before = written_rows()
    after_detection = incident.detected_at + timedelta(minutes=5)

    response = api_client(responder).patch(
        incident_url(incident), {"started_at": after_detection.isoformat(), "summary": "new"}
    )

    assert list(assert_problem(response, 400)["errors"]) == ["started_at"]
    assert written_rows() == before


def test_no_credentials_is_problem_401_with_a_challenge(db):
    response = api_client().get(f"{API}/incidents/")

    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_problem_401(db):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token tcs_not-a-real-key")

    response = client.get(f"{API}/incidents/")

    assert assert_problem(response, 401)["detail"] == "Invalid or inactive token."
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_writes_are_problem_401_and_write_nothing(db):
    _declare_refused(api_client(), VALID, status=401)


def test_a_viewer_declaring_is_problem_403_and_writes_nothing(viewer):
    problem = _declare_refused(api_client(viewer), VALID, status=403)

    assert problem["detail"] == "You may not declare incidents."


def test_an_unknown_incident_is_problem_404(responder):
    response = api_client(responder).get(f"{API}/incidents/404/")

    assert assert_problem(response, 404)["detail"] == "Not found."


def test_an_incident_number_too_large_to_exist_is_problem_404(responder):
    response = api_client(responder).get(f"{API}/incidents/99999999999/")

    assert_problem(response, 404)


def test_an_unknown_address_under_api_is_problem_404(responder):
    response = api_client(responder).get("/api/v1/nothing-here/")

    assert_problem(response, 404)


def test_an_unknown_address_outside_the_api_is_not_problem_json(responder):
    response = api_client(responder).get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_unsupported_methods_are_problem_405(responder, method):
    incident = declare(responder)
    before = written_rows()

    response = getattr(api_client(responder), method)(incident_url(incident), VALID)

    assert_problem(response, 405)
    assert written_rows() == before


def test_get_on_an_action_is_problem_405(responder):
    incident = declare(responder)

    assert_problem(api_client(responder).get(incident_url(incident, "resolve")), 405)


def _resolved(incident, actor):
    return services.incident_resolve(incident=incident, actor=actor)


@pytest.mark.parametrize(
    ("prepare", "action", "body"),
    [
        (_resolved, "acknowledge", None),
        (_resolved, "resolve", {}),
        (None, "reopen", {}),
        (
            lambda i, a: services.incident_set_status(
                incident=i, actor=a, status=Status.IDENTIFIED
            ),
            "status",
            {"status": "acknowledged"},
        ),
        (
            lambda i, a: services.incident_assign_role(
                incident=i, actor=a, role=RoleKind.SCRIBE, user=a
            ),
            "roles",
            {"role": "scribe", "user": "rosa"},
        ),
    ],
    ids=[
        "ack-resolved",
        "resolve-twice",
        "reopen-open",
        "status-backwards",
        "role-already-held",
    ],
)
def test_a_conflict_is_problem_409_and_writes_nothing(responder, prepare, action, body):
    incident = declare(responder)
    if prepare is not None:
        prepare(incident, responder)
    before = written_rows()

    response = api_client(responder).post(incident_url(incident, action), body)

    assert assert_problem(response, 409)["detail"]
    assert written_rows() == before


@pytest.mark.parametrize(
    ("prepare", "action", "body"),
    [
        (lambda i, a: services.incident_acknowledge(incident=i, actor=a), "acknowledge", None),
        (
            lambda i, a: services.incident_set_status(
                incident=i, actor=a, status=Status.MONITORING
            ),
            "acknowledge",
            None,
        ),
        (None, "severity", {"severity": "SEV2"}),
    ],
    ids=["ack-twice", "ack-later-status", "severity-unchanged"],
)
def test_repeating_a_state_the_incident_has_is_200_and_writes_nothing(
    responder, prepare, action, body
):
    incident = declare(responder)
    if prepare is not None:
        prepare(incident, responder)
    incident.refresh_from_db()
    before = written_rows()

    response = api_client(responder).post(incident_url(incident, action), body)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == incident.status
    assert response.json()["severity"] == "SEV2"
    assert written_rows() == before


def test_a_body_over_the_limit_is_problem_413_and_writes_nothing(responder, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024

    problem = _declare_refused(api_client(responder), {**VALID, "summary": "x" * 2000}, status=413)

    assert problem["detail"] == "The request body is larger than 1024 bytes."


def test_an_acknowledge_with_fields_is_problem_400(responder):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).post(incident_url(incident, "acknowledge"), {"ack": True})

    assert assert_problem(response, 400)["errors"] == {"ack": ["Unknown field."]}
    assert written_rows() == before


def test_an_acknowledge_with_a_body_that_is_not_json_is_problem_415(responder):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).post(
        incident_url(incident, "acknowledge"), {"ack": "yes"}, format="multipart"
    )

    assert_problem(response, 415)
    assert written_rows() == before


def test_a_body_that_is_not_json_is_problem_415_and_writes_nothing(responder):
    before = written_rows()

    response = api_client(responder).post(f"{API}/incidents/", VALID, format="multipart")

    assert_problem(response, 415)
    assert written_rows() == before


def test_a_session_write_without_a_csrf_token_is_problem_403(responder):
    client = JsonClient(enforce_csrf_checks=True)
    client.force_login(responder)

    problem = _declare_refused(client, VALID, status=403)

    assert "CSRF" in problem["detail"]


def test_a_session_may_read_without_a_token(responder):
    client = api_client()
    client.force_login(responder)

    assert client.get(f"{API}/incidents/").status_code == 200


def test_a_deactivated_user_s_token_is_problem_401(responder):
    client = api_client(responder)
    responder.is_active = False
    responder.save(update_fields=["is_active"])

    assert_problem(client.get(f"{API}/incidents/"), 401)


def test_a_viewer_role_change_takes_effect_on_the_next_request(responder):
    incident = declare(responder)
    client = api_client(responder)
    responder.role = Role.VIEWER
    responder.save(update_fields=["role"])

    assert_problem(client.post(incident_url(incident, "acknowledge")), 403)


def test_declare_with_a_summary_longer_than_the_web_form_allows_is_problem_400(responder):
    problem = _declare_refused(
        api_client(responder), {**VALID, "summary": "x" * (SUMMARY_MAX_LENGTH + 1)}
    )

    assert list(problem["errors"]) == ["summary"]


def test_declare_accepts_a_summary_of_the_web_form_s_maximum(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {**VALID, "summary": "x" * SUMMARY_MAX_LENGTH}
    )

    assert response.status_code == 201, response.content


def test_patch_with_a_summary_longer_than_the_web_form_allows_is_problem_400(responder):
    incident = declare(responder)
    before = written_rows()

    response = api_client(responder).patch(
        incident_url(incident), {"summary": "x" * (SUMMARY_MAX_LENGTH + 1)}
    )

    assert list(assert_problem(response, 400)["errors"]) == ["summary"]
    assert written_rows() == before
