"""Liveness and readiness probes for load balancers and orchestrators."""

from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import override_settings

pytestmark = pytest.mark.django_db

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_does_not_touch_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


def test_readyz_answers_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": True}}


def test_readyz_names_the_broker_when_it_is_unreachable(client):
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "broker": False},
    }


def test_readyz_recovers_when_the_broker_comes_back(client):
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        assert client.get("/readyz").status_code == 503

    assert client.get("/readyz").status_code == 200


def test_readyz_names_the_database_when_it_is_unreachable(client):
    refuse = mock.patch.object(
        connection, "cursor", side_effect=OperationalError("connection refused")
    )
    with refuse:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": False, "broker": True},
    }


def test_readyz_logs_why_a_check_failed(client, caplog):
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        client.get("/readyz")

    assert "readiness: broker unreachable" in caplog.text
    assert any(record.exc_info for record in caplog.records)
