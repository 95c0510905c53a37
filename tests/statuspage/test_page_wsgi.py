"""The public page through the WSGI entry point (config/wsgi.py), which serves it with the short
PUBLIC_MIDDLEWARE stack: no session is read, no cookie is set or varied on, and the security
headers stay. The test client would use settings.MIDDLEWARE instead, so these call the WSGI
application itself."""

import io
from datetime import timedelta

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from config.wsgi import application, is_public
from statuspage.models import ComponentState
from tests.statuspage.sppage_fixtures import component

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def keep_test_connection():
    # Django's handler closes database connections around each request; the test client
    # turns that off so the test's transaction survives, and so must a direct call.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def website():
    return component(
        "Website",
        state=ComponentState.DEGRADED_PERFORMANCE,
        created_at=timezone.now() - timedelta(days=30),
    )


def call(path: str, **headers: str) -> dict:
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
    answer: dict = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *args):
        answer["status"] = int(status.split()[0])
        answer["headers"] = response_headers
        answer["named"] = {name.lower(): value for name, value in response_headers}

    chunks = application(environ, start_response)
    answer["body"] = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer


def test_the_public_reads_take_the_short_stack_and_the_rest_does_not() -> None:
    assert is_public("/status/")
    assert is_public("/status/history/2026-03/")
    assert is_public("/status/incidents/abc/")
    assert is_public("/status/api/v2/summary.json")
    assert is_public("/status/history.atom")
    assert not is_public("/status/subscribe/")
    assert not is_public("/status/staff/maintenance/")
    assert not is_public("/incidents/")


def test_the_page_sets_no_cookie_and_varies_on_none(website) -> None:
    answer = call("/status/", cookie="sessionid=whatever; csrftoken=abc")
    assert answer["status"] == 200
    assert b"Website" in answer["body"]
    assert not [value for name, value in answer["headers"] if name.lower() == "set-cookie"]
    assert "cookie" not in answer["named"].get("vary", "").lower()


def test_the_page_keeps_the_security_headers(website) -> None:
    named = call("/status/")["named"]
    assert named["x-content-type-options"] == "nosniff"
    assert named["x-frame-options"] == "DENY"
    assert "default-src 'self'" in named["content-security-policy"]
    assert "'sha256-" in named["content-security-policy"]
    assert named["cache-control"].startswith("public, max-age=")
    assert int(named["content-length"]) > 0


def test_a_reader_with_a_session_cookie_costs_no_query(website, django_assert_num_queries) -> None:
    call("/status/")
    with django_assert_num_queries(0):
        answer = call("/status/", cookie="sessionid=somebodys-session")
    assert answer["status"] == 200


def test_a_conditional_get_through_wsgi_is_a_304(website) -> None:
    etag = call("/status/")["named"]["etag"]
    answer = call("/status/", if_none_match=etag)
    assert answer["status"] == 304
    assert answer["body"] == b""
