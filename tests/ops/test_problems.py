"""RFC 9457 problem details: the DRF exception handler, the 404/500 handlers, the size limit."""

import json
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions
from rest_framework.request import Request

from incidents.transitions import IllegalTransition, IncidentConflict
from ops.middleware import BodySizeLimitMiddleware
from ops.problems import (
    PROBLEM_CONTENT_TYPE,
    page_not_found,
    problem_body,
    problem_exception_handler,
    server_error,
)
from tests.factories import declare


def _handle(exc: Exception, path: str = "/api/v1/incidents/"):
    request = Request(RequestFactory().post(path))
    return problem_exception_handler(exc, {"request": request})


def test_problem_body_carries_the_standard_members():
    body = problem_body(409, detail="INC-1 is resolved.", instance="/api/v1/incidents/1/")

    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "INC-1 is resolved.",
        "instance": "/api/v1/incidents/1/",
    }


def test_problem_body_leaves_out_empty_members():
    assert problem_body(404) == {"type": "about:blank", "title": "Not Found", "status": 404}


def test_drf_validation_errors_become_400_with_errors_by_field():
    response = _handle(exceptions.ValidationError({"title": ["A title is required."]}))

    assert response.status_code == 400
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.data == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request has invalid fields.",
        "instance": "/api/v1/incidents/",
        "errors": {"title": ["A title is required."]},
    }


def test_nested_errors_are_flattened_to_dotted_paths():
    detail: Any = {
        "labels": {"tier": ["Label values must be strings."]},
        "items": [{}, {"name": ["Required."]}],
        "status": {1: ["Not a status."]},
    }

    errors = _handle(exceptions.ValidationError(detail)).data["errors"]

    assert errors == {
        "labels.tier": ["Label values must be strings."],
        "items.1.name": ["Required."],
        "status.1": ["Not a status."],
    }


def test_errors_without_a_field_go_under_non_field_errors():
    response = _handle(exceptions.ValidationError(["Expected an object."]))

    assert response.data["errors"] == {"non_field_errors": ["Expected an object."]}


def test_django_validation_errors_keep_their_fields():
    response = _handle(DjangoValidationError({"text": "A note needs some text."}))

    assert response.status_code == 400
    assert response.data["errors"] == {"text": ["A note needs some text."]}


def test_django_validation_errors_without_fields_are_non_field_errors():
    response = _handle(DjangoValidationError("Not now."))

    assert response.data["errors"] == {"non_field_errors": ["Not now."]}


def test_an_illegal_transition_becomes_409_with_its_reason(responder):
    incident = declare(responder)

    response = _handle(IllegalTransition(incident, "detected"))

    assert response.status_code == 409
    assert response.data["detail"] == f"{incident.ref} cannot move from detected to detected."


def test_an_incident_conflict_becomes_409_with_its_reason():
    response = _handle(IncidentConflict("Cole Commander is already scribe."))

    assert response.status_code == 409
    assert response.data["detail"] == "Cole Commander is already scribe."


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (PermissionDenied("You may not respond to this incident."), 403),
        (ObjectDoesNotExist(), 404),
        (Http404(), 404),
        (RequestDataTooBig(), 413),
        (exceptions.NotAuthenticated(), 401),
        (exceptions.MethodNotAllowed("PUT"), 405),
        (exceptions.UnsupportedMediaType("text/plain"), 415),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_errors_map_to_their_status(exc, status):
    response = _handle(exc)

    assert response.status_code == status
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.data["status"] == status


def test_a_permission_denied_keeps_its_message():
    response = _handle(PermissionDenied("You may not respond to this incident."))

    assert response.data["detail"] == "You may not respond to this incident."


def test_a_missing_object_does_not_say_which():
    response = _handle(ObjectDoesNotExist("Incident matching query does not exist."))

    assert response.data["detail"] == "Not found."


def test_unexpected_exceptions_are_left_to_django():
    assert _handle(RuntimeError("boom")) is None


def test_not_found_under_api_is_problem_json():
    request = RequestFactory().get("/api/v2/anything")

    response = page_not_found(request, Http404())

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert json.loads(response.content)["instance"] == "/api/v2/anything"


def test_not_found_elsewhere_is_django_s_page():
    response = page_not_found(RequestFactory().get("/somewhere"), Http404())

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_server_error_under_api_is_problem_json_without_internals():
    response = server_error(RequestFactory().get("/api/v1/incidents/"))

    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert json.loads(response.content)["detail"] == "Something went wrong on our side."


def test_server_error_elsewhere_is_django_s_page():
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_body_size_limit_refuses_a_content_length_that_is_not_a_number():
    middleware = BodySizeLimitMiddleware(lambda request: pytest.fail("view must not run"))
    request = RequestFactory().post("/api/v1/incidents/", CONTENT_LENGTH="lots")

    response = middleware(request)

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_body_size_limit_refuses_a_body_over_the_limit(settings):
    settings.MAX_REQUEST_BODY_BYTES = 10
    middleware = BodySizeLimitMiddleware(lambda request: pytest.fail("view must not run"))
    request = RequestFactory().post(
        "/api/v1/incidents/", data="x" * 11, content_type="application/json"
    )

    response = middleware(request)

    assert response.status_code == 413
    assert json.loads(response.content)["detail"] == "The request body is larger than 10 bytes."
