"""A database that accepts connections and never answers (a partition, a failover, a frozen
server) costs a request seconds, never a thread for ever: gunicorn serves Tocsin through a
Blackhole proxy in front of the real PostgreSQL, and the test makes the proxy go silent.
"""

import re
import threading

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from incidents.models import Incident, Severity, TimelineEvent
from tests.harness import Gunicorn, database_url
from tests.ops.live import signed_in, timed
from tests.stubs.blackhole import Blackhole

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

# What a request may take while the database is silent: the health check of the kept
# connection (1 s), a new connection's timeout (DB_CONNECT_TIMEOUT, 3 s), or one statement's
# (DB_STATEMENT_TIMEOUT 5 s + 1 s), whichever it meets; each with room for a loaded machine.
FEW_SECONDS = 9.0


@pytest.fixture
def database(tmp_path):
    proxy = Blackhole(target_port=5432)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def web(tmp_path, database):
    server = Gunicorn(tmp_path, {"DATABASE_URL": database_url(database.address)})
    server.start()
    yield server
    server.stop()


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10).text
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def declare(session: requests.Session, web: Gunicorn, token: str) -> requests.Response:
    severity = Severity.objects.get(name="SEV2")
    data = {
        "csrfmiddlewaretoken": token,
        "title": "Checkout is down",
        "severity": str(severity.pk),
        "take_command": "on",
    }
    return session.post(web.url + "/incidents/new/", data=data, allow_redirects=False, timeout=30)


def test_a_page_answers_503_within_seconds_while_the_database_is_silent(web, database, responder):
    session = signed_in(responder)
    assert session.get(web.url + "/", timeout=10).status_code == 200  # a kept connection

    database.black_hole()
    for _ in range(2):  # the kept connection first, then a new one
        response, seconds = timed(lambda: session.get(web.url + "/", timeout=60))

        assert response.status_code == 503
        assert seconds < FEW_SECONDS
        assert "cannot reach its database" in response.text
        assert response.headers["Retry-After"] == "5"


def test_the_api_answers_a_503_problem_while_the_database_is_silent(web, database, responder):
    session = signed_in(responder)
    database.black_hole()

    response, seconds = timed(lambda: session.get(web.url + "/api/v1/incidents/", timeout=60))

    assert response.status_code == 503
    assert seconds < FEW_SECONDS
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The database is unavailable; retry shortly."


def test_healthz_answers_at_once_while_requests_wait_on_the_silent_database(
    web, database, responder
):
    session = signed_in(responder)
    database.black_hole()
    waiting = [
        threading.Thread(target=lambda: session.get(web.url + "/", timeout=60)) for _ in range(3)
    ]
    for thread in waiting:
        thread.start()

    for _ in range(3):
        response, seconds = timed(lambda: requests.get(web.url + "/healthz", timeout=60))
        assert response.status_code == 200
        assert seconds < 1.0
    for thread in waiting:
        thread.join()


def test_readiness_says_unavailable_within_seconds_while_the_database_is_silent(web, database):
    assert requests.get(web.url + "/readyz", timeout=10).status_code == 200
    database.black_hole()

    response, seconds = timed(lambda: requests.get(web.url + "/readyz", timeout=60))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": False}}
    assert seconds < FEW_SECONDS


def test_metrics_keep_serving_the_counters_while_the_database_is_silent(web, database):
    assert requests.get(web.url + "/accounts/login/", timeout=10).status_code == 200
    database.black_hole()

    response, seconds = timed(lambda: requests.get(web.url + "/metrics", timeout=60))

    assert response.status_code == 200
    assert seconds < FEW_SECONDS
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("tocsin_metrics_collector_up", (("collector", "incidents"),))] == 0
    assert samples[("tocsin_metrics_collector_up", (("collector", "heartbeats"),))] == 0
    assert samples[("tocsin_metrics_collector_up", (("collector", "queues"),))] == 1
    login = (("method", "GET"), ("status", "200"), ("view", "accounts:login"))
    assert samples[("tocsin_http_requests_total", login)] == 1


def test_a_declaration_during_the_silence_writes_nothing_and_succeeds_after_it(
    web, database, responder
):
    session = signed_in(responder)
    token = csrf_token(session, web.url + "/incidents/new/")
    database.black_hole()

    response, seconds = timed(lambda: declare(session, web, token))

    assert response.status_code == 503
    assert seconds < FEW_SECONDS
    database.forward()
    assert not Incident.objects.exists()
    assert not TimelineEvent.objects.exists()

    response = declare(session, web, token)

    assert response.status_code == 302
    assert Incident.objects.count() == 1
    assert session.get(web.url + "/", timeout=10).status_code == 200


def test_pages_answer_503_at_once_when_the_database_refuses_connections(web, database, responder):
    session = signed_in(responder)
    database.refuse()

    response, seconds = timed(lambda: session.get(web.url + "/", timeout=60))

    assert response.status_code == 503
    assert seconds < FEW_SECONDS
    database.forward()
    assert session.get(web.url + "/", timeout=10).status_code == 200
