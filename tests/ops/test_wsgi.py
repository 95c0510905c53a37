"""The WSGI entry point gives machine routes (/hooks/) a short middleware stack."""

import io
import json

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from accounts.actors import SYSTEM
from alerts.models import Alert
from alerts.services.integrations import integration_create
from config.wsgi import application
from tests.factories import TeamFactory


@pytest.fixture(autouse=True)
def keep_test_connection():
    # Django's handler closes database connections around each request; the test client
    # turns that off so the test's transaction survives, and so must a direct call.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(path: str, *, method: str = "GET", body: bytes = b"", **headers: str):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *args):
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}

    chunks = application(environ, start_response)
    answer["body"] = b"".join(chunks)
    if hasattr(chunks, "close"):  # optional in WSGI
        chunks.close()
    return answer


def firing_payload() -> bytes:
    payload = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "DiskFull", "service": "db"},
                "annotations": {},
                "startsAt": "2026-11-24T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "0123456789abcdef",
            }
        ],
    }
    return json.dumps(payload).encode()


@pytest.mark.django_db
def test_a_webhook_is_served_without_the_browsers_middleware(manager):
    _, token = integration_create(
        name="Prometheus", kind="alertmanager", team=TeamFactory(name="Ops"), actor=SYSTEM
    )

    answer = call(
        "/hooks/alertmanager/",
        method="POST",
        body=firing_payload(),
        AUTHORIZATION=f"Bearer {token}",
    )

    assert answer["status"] == 200
    assert Alert.objects.count() == 1
    headers = answer["headers"]
    assert "content-security-policy" not in headers  # the page middleware did not run
    assert "cookie" not in headers.get("vary", "").lower()  # nor did sessions
    assert headers["x-content-type-options"] == "nosniff"  # security headers still apply
    assert headers["content-length"] == str(len(answer["body"]))  # keep-alive needs it


@pytest.mark.django_db
def test_a_webhook_still_has_its_body_size_limit(settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    answer = call("/hooks/alertmanager/", method="POST", body=b"{" + b" " * 200 + b"}")

    assert answer["status"] == 413


@pytest.mark.django_db
def test_pages_keep_the_full_middleware():
    answer = call("/accounts/login/")

    assert answer["status"] == 200
    assert "content-security-policy" in answer["headers"]


def test_the_cache_keeps_one_redis_client():
    backend = cache._cache  # type: ignore[attr-defined]
    assert backend.get_client(write=True) is backend.get_client(write=True)
    assert cache.add("wsgi-test-key", 1, 5) is True
    assert cache.add("wsgi-test-key", 1, 5) is False


def test_healthz_is_answered_before_django_runs():
    # No middleware and no request signals: those check the database connection.
    answer = call("/healthz", HOST="not-an-allowed-host.example")

    assert answer["status"] == 200
    assert json.loads(answer["body"]) == {"status": "ok"}
    assert answer["headers"]["cache-control"] == "no-store"


def test_healthz_answers_head_and_refuses_other_methods():
    assert call("/healthz", method="HEAD")["status"] == 200
    answer = call("/healthz", method="POST")
    assert answer["status"] == 405
    assert answer["headers"]["allow"] == "GET, HEAD"
