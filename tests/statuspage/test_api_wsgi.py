"""The JSON API and the feeds through the WSGI entry point (config/wsgi.py), which serves them
with the short PUBLIC_MIDDLEWARE stack: readable from any site, no cookie set or varied on, a
repeated read answered from the cache without a query."""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from config.wsgi import application
from statuspage.models import ComponentState
from tests.statuspage.spapi_fixtures import component, public_incident, public_update

pytestmark = pytest.mark.django_db

PATHS = [
    "statuspage:api-summary",
    "statuspage:api-status",
    "statuspage:api-components",
    "statuspage:api-incidents",
    "statuspage:api-incidents-unresolved",
    "statuspage:api-maintenances",
    "statuspage:api-maintenances-upcoming",
    "statuspage:api-maintenances-active",
    "statuspage:history-atom",
    "statuspage:history-rss",
]


@pytest.fixture(autouse=True)
def keep_test_connection() -> Iterator[None]:
    # Django's handler closes database connections around each request; the test client
    # turns that off so the test's transaction survives, and so must a direct call.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def page() -> None:
    api = component("API", state=ComponentState.DEGRADED_PERFORMANCE)
    incident = public_incident("Slow API", impact="minor", components=(api,))
    public_update(incident, "Requests are slow.")


def call(path: str, **headers: str) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *args: Any) -> None:
        answer["status"] = int(status.split()[0])
        answer["headers"] = response_headers
        answer["named"] = {name.lower(): value for name, value in response_headers}

    chunks = application(environ, start_response)
    answer["body"] = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer


@pytest.mark.parametrize("name", PATHS)
def test_readable_from_any_site_with_no_cookie(name: str) -> None:
    answer = call(reverse(name), cookie="sessionid=whatever; csrftoken=abc")

    assert answer["status"] == 200
    assert answer["named"]["access-control-allow-origin"] == "*"
    assert answer["named"]["cache-control"].startswith("public, max-age=")
    assert not [value for name, value in answer["headers"] if name.lower() == "set-cookie"]
    assert "cookie" not in answer["named"].get("vary", "").lower()


@pytest.mark.parametrize("name", PATHS)
def test_a_repeated_read_costs_no_query_and_a_revalidation_is_a_304(
    name: str, django_assert_num_queries: Any
) -> None:
    etag = call(reverse(name))["named"]["etag"]
    with django_assert_num_queries(0):
        again = call(reverse(name), cookie="sessionid=somebodys-session")
        revalidated = call(reverse(name), if_none_match=etag)

    assert again["status"] == 200
    assert revalidated["status"] == 304
    assert revalidated["body"] == b""
    assert revalidated["named"]["access-control-allow-origin"] == "*"


def test_status_json_through_wsgi() -> None:
    answer = call(reverse("statuspage:api-status"))

    assert answer["named"]["content-type"] == "application/json; charset=utf-8"
    assert b'"indicator":"minor"' in answer["body"]
