"""Tokens that travel in URL paths (webhooks, calendar feeds, ack links) never reach a log line,
and a refused request is one line without a traceback."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.actors import SYSTEM
from accounts.models import Role
from alerts.models import IntegrationKind
from alerts.services.integrations import integration_create
from ops.logging import JsonFormatter, redact
from tests.factories import TeamFactory, UserFactory

SECRET = "s3cr3t-T0ken_value"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the console handler our LOGGING settings configure writes, as it writes it."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.fixture
def json_console(console: io.StringIO) -> Iterator[io.StringIO]:
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    previous = handler.formatter
    handler.setFormatter(JsonFormatter())
    yield console
    handler.setFormatter(previous)


@pytest.mark.parametrize(
    ("method", "path", "shown"),
    [
        ("post", f"/hooks/generic/{SECRET}", "/hooks/generic/***"),
        ("post", f"/hooks/alertmanager/{SECRET}", "/hooks/alertmanager/***"),
        ("get", f"/ack/{SECRET}", "/ack/***"),
        ("get", f"/oncall/schedules/{SECRET}.ics", "/oncall/schedules/***.ics"),
        ("get", f"/oncall/users/{SECRET}.ics", "/oncall/users/***.ics"),
    ],
)
@pytest.mark.django_db
def test_djangos_warning_for_a_refused_token_path_hides_the_token(
    client: Client, console: io.StringIO, caplog: pytest.LogCaptureFixture, method, path, shown
):
    response = getattr(client, method)(path, content_type="application/json")

    assert response.status_code in {401, 404}
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    output = console.getvalue()
    assert shown in output
    assert SECRET not in output


@pytest.mark.django_db
def test_a_json_log_line_hides_the_token_in_its_message_and_its_request_field(
    client: Client, json_console: io.StringIO
):
    client.post(f"/hooks/generic/{SECRET}", "{}", content_type="application/json")

    [line] = [line for line in json_console.getvalue().splitlines() if "django.request" in line]
    entry = json.loads(line)
    assert entry["message"] == "Unauthorized: /hooks/generic/***"
    assert entry["request"] == "<WSGIRequest: POST '/hooks/generic/***'>"
    assert SECRET not in line


@pytest.mark.django_db
def test_a_delivery_with_the_token_in_its_path_logs_nothing_with_the_token(
    client: Client, console: io.StringIO
):
    _, token = integration_create(
        actor=SYSTEM, name="Grafana", kind=IntegrationKind.GENERIC, team=TeamFactory(name="Ops")
    )

    response = client.post(
        f"/hooks/generic/{token}", {"title": "Disk full"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert token not in console.getvalue()


def test_a_path_in_an_access_log_line_keeps_everything_but_the_token():
    line = (
        f'127.0.0.1 - - "GET /oncall/users/{SECRET}.ics?x=1 HTTP/1.1" 200 512 '
        f'"https://tocsin.example.com/ack/{SECRET}" "curl/8"'
    )

    assert redact(line) == (
        '127.0.0.1 - - "GET /oncall/users/***.ics?x=1 HTTP/1.1" 200 512 '
        '"https://tocsin.example.com/ack/***" "curl/8"'
    )


def test_paths_without_a_token_parameter_are_left_alone():
    line = "POST /hooks/alertmanager/ 200; GET /incidents/42/ 200; /integrations/3/rotate-token/"

    assert redact(line) == line


@pytest.mark.django_db
def test_a_permission_denied_page_logs_one_line_without_a_traceback(
    client: Client, console: io.StringIO, caplog: pytest.LogCaptureFixture
):
    client.force_login(UserFactory(role=Role.VIEWER))

    response = client.get("/incidents/new/")

    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    [line] = console.getvalue().splitlines()
    assert line.endswith(
        "WARNING django.request Forbidden (Permission denied): /incidents/new/ "
        "(You may not declare incidents.)"
    )
    assert "Traceback" not in console.getvalue()


@pytest.mark.django_db
def test_a_server_error_still_logs_its_traceback(console: io.StringIO):
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})

    assert "Traceback" in console.getvalue()
    assert "RuntimeError: boom" in console.getvalue()


def test_the_development_servers_request_lines_reach_our_handler_redacted(console: io.StringIO):
    # runserver logs each request on django.server; Django's own handler for it is dropped.
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /ack/{SECRET} HTTP/1.1", 200, 12)

    assert console.getvalue().rstrip().endswith('django.server "GET /ack/*** HTTP/1.1" 200 12')
    assert logging.getLogger("django.server").handlers == []


@pytest.mark.django_db
def test_a_refused_host_logs_one_security_line_without_a_traceback(
    client: Client, console: io.StringIO
):
    # Not /healthz: health probes answer whatever Host they carry (ops.probes).
    response = client.get("/incidents/", headers={"Host": "evil.example"})

    assert response.status_code == 400
    [line] = console.getvalue().splitlines()
    assert "ERROR django.security.DisallowedHost Invalid HTTP_HOST header: 'evil.example'" in line
