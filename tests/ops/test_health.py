"""Liveness and readiness probes for load balancers and orchestrators, and the admins' health
page: is every part of Tocsin alive, and is paging being served?"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from ops.models import Heartbeat, HeartbeatKind
from ops.services import heartbeat_record

pytestmark = pytest.mark.django_db

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def all_alive(now=None) -> None:
    for kind, name in [("beat", "beat"), ("queue", "celery"), ("queue", "paging")]:
        heartbeat_record(kind=kind, name=name, hostname=f"{name}@host", now=now)


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_does_not_touch_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


def test_readyz_answers_ok_when_the_database_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}}


def test_readyz_stays_ready_while_the_broker_is_down(client):
    # Web declares, acknowledges and takes webhooks without the broker: keep it in rotation.
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}}


def test_readyz_names_the_database_when_it_is_unreachable(client):
    refuse = mock.patch.object(
        connection, "cursor", side_effect=OperationalError("connection refused")
    )
    with refuse:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": False}}


def test_full_readiness_is_ok_when_broker_and_every_heartbeat_are_fresh(client):
    all_alive()

    response = client.get("/readyz?full=1")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": True,
            "broker": True,
            "heartbeat:beat:beat": True,
            "heartbeat:queue:celery": True,
            "heartbeat:queue:paging": True,
        },
    }


def test_full_readiness_names_the_broker_when_it_is_unreachable(client):
    all_alive()
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        response = client.get("/readyz?full=1")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False


def test_full_readiness_names_a_queue_nobody_serves(client, settings):
    settings.HEARTBEAT_STALE_AFTER = 30
    all_alive()
    Heartbeat.objects.filter(name="paging").update(seen_at=timezone.now() - timedelta(seconds=31))

    response = client.get("/readyz?full=1")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["heartbeat:queue:paging"] is False
    assert checks["heartbeat:queue:celery"] is True


def test_full_readiness_counts_a_heartbeat_never_seen_as_stale(client):
    response = client.get("/readyz?full=1")

    assert response.status_code == 503
    assert response.json()["checks"]["heartbeat:beat:beat"] is False


def test_full_readiness_logs_why_a_check_failed(client, caplog):
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        client.get("/readyz?full=1")

    assert "readiness: broker unreachable" in caplog.text
    assert any(record.exc_info for record in caplog.records)


def test_a_heartbeat_is_one_row_per_process_kind_and_name():
    earlier = timezone.now() - timedelta(minutes=1)
    heartbeat_record(kind=HeartbeatKind.QUEUE, name="paging", hostname="pager@a", now=earlier)
    heartbeat_record(kind=HeartbeatKind.QUEUE, name="paging", hostname="pager@b")

    row = Heartbeat.objects.get()
    assert (row.kind, row.name, row.hostname) == ("queue", "paging", "pager@b")
    assert row.seen_at > earlier


def test_the_health_page_shows_each_process_and_its_state_to_admins(client, admin_user, settings):
    settings.HEARTBEAT_STALE_AFTER = 30
    all_alive()
    Heartbeat.objects.filter(name="paging").update(seen_at=timezone.now() - timedelta(minutes=5))
    client.force_login(admin_user)

    response = client.get("/ops/health/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Something is not running" in page
    paging = page.split('id="heartbeat-queue-paging"')[1].split("</tr>")[0]
    assert "stale" in paging
    assert "paging@host" in paging
    celery = page.split('id="heartbeat-queue-celery"')[1].split("</tr>")[0]
    assert "running" in celery


def test_the_health_page_says_when_the_broker_cannot_be_asked(client, admin_user):
    all_alive()
    client.force_login(admin_user)
    with override_settings(CELERY_BROKER_URL=CLOSED_PORT_BROKER):
        response = client.get("/ops/health/")

    assert response.status_code == 200
    assert "broker unreachable" in response.content.decode()


@pytest.mark.parametrize("persona", ["responder", "manager", "viewer"])
def test_the_health_page_is_for_admins_only(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/ops/health/").status_code == 403


def test_the_health_page_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/ops/health/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_admins_find_the_health_page_in_the_navigation(client, admin_user, responder):
    client.force_login(admin_user)
    assert 'href="/ops/health/"' in client.get("/").content.decode()

    client.force_login(responder)
    assert 'href="/ops/health/"' not in client.get("/").content.decode()
