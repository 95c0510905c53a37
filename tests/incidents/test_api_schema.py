"""The OpenAPI schema and the Swagger UI page that renders it under our strict CSP."""

import re

from django.core.management import call_command

from tests.incidents.api_support import JsonClient


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
    assert set(responses) == {"200", "400", "401", "403", "404", "409", "413", "415"}
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
