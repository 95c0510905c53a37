"""/metrics adds up every gunicorn worker's counters (prometheus-client's multiprocess mode,
set up by config/gunicorn.py), and counts incidents once, whichever worker answers."""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import declare
from tests.harness import Gunicorn, database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(120),
]

LOGIN = (("method", "GET"), ("status", "200"), ("view", "accounts:login"))


@pytest.fixture
def web(tmp_path):
    server = Gunicorn(tmp_path, {"DATABASE_URL": database_url()}, workers=3, threads=1)
    server.start()
    yield server
    server.stop()


def scrape(web: Gunicorn) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    # A new connection each time, so gunicorn hands the scrapes to different workers.
    response = requests.get(web.url + "/metrics", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_every_scrape_sees_the_requests_of_every_worker(web):
    for _ in range(30):
        response = requests.get(
            web.url + "/accounts/login/", headers={"Connection": "close"}, timeout=10
        )
        assert response.status_code == 200

    counts = [scrape(web)[("tocsin_http_requests_total", LOGIN)] for _ in range(10)]

    assert counts == [30.0] * 10


def test_incidents_are_counted_once_whichever_worker_answers(web, responder):
    declare(responder, severity_name="SEV1")
    declare(responder, severity_name="SEV1")

    for _ in range(6):
        samples = scrape(web)
        assert samples[("tocsin_incidents", (("severity", "SEV1"), ("status", "detected")))] == 2
        assert samples[("tocsin_metrics_collector_up", (("collector", "incidents"),))] == 1
