"""The OpenAPI schema and the Swagger UI page that renders it under our strict CSP.

The schema says what the API enforces; tests/test_api_schemathesis.py checks every operation
against a live server. These pin the rules ApiSchema (ops/api/schema.py) applies.
"""

import re
import sys
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework import serializers

from ops.api.schema import NOT_BLANK_PATTERN
from tests.incidents.api_support import JsonClient

WRITES = {"post", "patch", "put", "delete"}


@pytest.fixture
def schema(db) -> dict[str, Any]:
    response = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(schema: dict[str, Any]):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _component(schema: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    component: dict[str, Any] = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return component


def _body(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    content = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return _component(schema, content["schema"])


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns every guess drf-spectacular had to make into an error.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )

    assert "/api/v1/incidents/{number}/resolve/" in (tmp_path / "schema.yaml").read_text()


def test_schema_is_served_as_openapi_3(db):
    response = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_schema_documents_errors_as_problem_details(db):
    schema = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    responses = schema.json()["paths"]["/api/v1/incidents/{number}/acknowledge/"]["post"][
        "responses"
    ]
    assert set(responses) == {"200", "400", "401", "403", "404", "409", "411", "413", "415"}
    assert list(responses["409"]["content"]) == ["application/problem+json"]


def test_docs_page_has_no_inline_script_and_a_nonce_on_its_style(db):
    response = JsonClient().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    nonce = re.search(r'<style nonce="([^"]+)">', html)
    assert nonce is not None
    assert f"'nonce-{nonce[1]}'" in response["Content-Security-Policy"]


def test_docs_start_up_script_is_served_from_our_origin(db):
    response = JsonClient().get("/api/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in response.content


def test_every_input_says_it_refuses_fields_it_does_not_know(schema):
    bodies = [
        (path, method, _body(schema, path, method))
        for path, method, operation in _operations(schema)
        if "requestBody" in operation
    ]

    assert len(bodies) == 18
    assert [(p, m) for p, m, body in bodies if body.get("additionalProperties") is not False] == []


def test_every_operation_documents_the_errors_its_shape_allows(schema):
    missing = []
    for path, method, operation in _operations(schema):
        parameters = operation.get("parameters", [])
        expected = {"401"}
        if "requestBody" in operation:
            expected |= {"400", "411", "413", "415"}
        if method in WRITES:
            expected.add("403")
        if any(p["in"] == "query" for p in parameters):
            expected.add("400")
        if any(p["in"] == "path" or p["name"] == "page" for p in parameters):
            expected.add("404")
        if not expected <= set(operation["responses"]):
            missing.append((method, path, sorted(expected - set(operation["responses"]))))

    assert missing == []


def test_every_error_answer_is_problem_details(schema):
    for _path, _method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"]


def test_a_list_documents_its_page_bounds_and_the_404_past_the_last_page(schema):
    operation = schema["paths"]["/api/v1/severities/"]["get"]

    [page] = operation["parameters"]
    assert page["schema"] == {"type": "integer", "minimum": 1}
    assert "past the last" in operation["responses"]["404"]["description"]


def test_required_text_says_it_may_not_be_blank_and_how_long_it_may_be(schema):
    title = _body(schema, "/api/v1/incidents/", "post")["properties"]["title"]

    assert title == {
        "type": "string",
        "minLength": 1,
        "pattern": NOT_BLANK_PATTERN,
        "maxLength": 200,
    }


def test_the_not_blank_pattern_refuses_exactly_the_text_drf_trims_to_nothing():
    field = serializers.CharField()
    every_character = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    for character in every_character:
        text = character * 2
        try:
            field.run_validation(text)
            blank = False
        except serializers.ValidationError as refused:
            # NUL is refused too, for another reason the schema's description states.
            blank = refused.get_codes() == ["blank"]
        # Spelled as escapes, the class reads the same in Python's re and in ECMAScript's.
        assert bool(re.search(NOT_BLANK_PATTERN, text)) is not blank, hex(ord(character))
    # ECMAScript's \s would also refuse U+FEFF, which Python keeps: the class does not.
    assert re.search(NOT_BLANK_PATTERN, "\ufeff")


def test_a_reference_carries_the_limits_of_the_field_it_names(schema):
    properties = _body(schema, "/api/v1/incidents/", "post")["properties"]

    assert properties["services"]["items"] == {
        "type": "string",
        "pattern": "^[-a-zA-Z0-9_]+$",
        "maxLength": 100,
    }
    # A nullable reference takes "" for null, as DRF reads it.
    assert properties["commander"]["nullable"] is True
    assert {"type": "string", "maxLength": 0} in properties["commander"]["oneOf"]


def test_the_incident_list_filters_carry_their_limits(schema):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/incidents/"]["get"]["parameters"]
    }

    assert parameters["q"]["maxLength"] == 200
    assert parameters["team"]["maxLength"] == 100
    assert parameters["status"]["maxItems"] == parameters["severity"]["maxItems"] == 10
    assert parameters["severity"]["items"]["maxLength"] == 16


def test_an_acknowledgement_takes_no_fields(schema):
    body = _body(schema, "/api/v1/incidents/{number}/acknowledge/", "post")

    assert body == {"type": "object", "additionalProperties": False}
