"""Probes come by address: an orchestrator's health checks and Prometheus's scrape name the
container or pod (`Host: 10.1.2.3:8000`), which no ALLOWED_HOSTS can list in advance."""

import pytest

from ops.metrics import REGISTRY

pytestmark = pytest.mark.django_db

POD_ADDRESS = "10.1.2.3:8000"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_a_host_that_is_not_allowed(client, path):
    response = client.get(path, HTTP_HOST=POD_ADDRESS)

    assert response.status_code == 200


def test_a_page_still_refuses_a_host_that_is_not_allowed(client):
    assert client.get("/accounts/login/", HTTP_HOST=POD_ADDRESS).status_code == 400


def test_a_webhook_still_refuses_a_host_that_is_not_allowed(client):
    response = client.post(
        "/hooks/alertmanager/", data=b"{}", content_type="application/json", HTTP_HOST=POD_ADDRESS
    )

    assert response.status_code == 400


def test_probes_keep_their_view_name_in_the_request_metrics(client):
    labels = {"method": "GET", "view": "ops:healthz", "status": "200"}
    before = REGISTRY.get_sample_value("tocsin_http_requests_total", labels) or 0
    client.get("/healthz", HTTP_HOST=POD_ADDRESS)

    assert REGISTRY.get_sample_value("tocsin_http_requests_total", labels) == before + 1
