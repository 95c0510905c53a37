"""A maintenance's own public page, and completed maintenance in the history: its link keeps
resolving once the window is over and the front page no longer shows it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from statuspage import links
from statuspage.models import MaintenanceStatus, MaintenanceUpdate
from tests.statuspage.sppage_fixtures import component, maintenance

pytestmark = [pytest.mark.django_db]

# Noon on 10 March 2026, UTC; the page shows Paris time.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def paris_page(settings, clock):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    settings.BASE_URL = "https://status.example.test"
    clock.now = NOW


def text(response) -> str:
    body = re.sub(r"<style>.*?</style>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def finished(name: str, *, days_ago: int, status: str = MaintenanceStatus.COMPLETED):
    start = NOW - timedelta(days=days_ago)
    made = maintenance(
        name,
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
        status=status,
        components=[component(f"{name} part")],
    )
    MaintenanceUpdate.objects.create(
        maintenance=made,
        status=status,
        body=f"{name}: {status}.",
        created_at=start + timedelta(hours=2),
    )
    return made


def test_a_completed_maintenance_has_its_own_page_with_its_updates(client: Client) -> None:
    done = finished("Database upgrade", days_ago=3)
    response = client.get(f"/status/incidents/{done.code}/")
    words = text(response)
    assert response.status_code == 200
    assert "Database upgrade" in words
    assert "Affects Database upgrade part" in words
    assert words.index("Database upgrade: completed.") < words.index(
        "Database upgrade: we will keep you posted."
    )


def test_a_cancelled_maintenance_has_no_page(client: Client) -> None:
    off = finished("Called off", days_ago=3, status=MaintenanceStatus.CANCELLED)
    response = client.get(f"/status/incidents/{off.code}/")
    assert response.status_code == 404
    assert "Called off" not in response.content.decode()


def test_the_maintenance_page_is_cached_and_revalidated_without_queries(
    client: Client, django_assert_num_queries
) -> None:
    done = finished("Database upgrade", days_ago=3)
    first = client.get(f"/status/incidents/{done.code}/")
    assert first["ETag"]
    assert first["Cache-Control"].startswith("public")
    with django_assert_num_queries(0):
        again = client.get(f"/status/incidents/{done.code}/")
        revalidated = client.get(
            f"/status/incidents/{done.code}/", headers={"If-None-Match": first["ETag"]}
        )
    assert again.content == first.content
    assert revalidated.status_code == 304
    assert not first.cookies


def test_the_front_page_links_a_maintenance_to_its_page(client: Client) -> None:
    upcoming = maintenance(
        "CDN migration",
        scheduled_for=NOW + timedelta(days=1),
        scheduled_until=NOW + timedelta(days=1, hours=1),
    )
    body = client.get("/status/").content.decode()
    assert f'href="/status/incidents/{upcoming.code}/"' in body


def test_a_maintenance_links_to_its_page_and_a_cancelled_one_to_the_status_page() -> None:
    completed = links.maintenance_url("abc123", MaintenanceStatus.COMPLETED)
    cancelled = links.maintenance_url("abc123", MaintenanceStatus.CANCELLED)
    assert completed == "https://status.example.test/status/incidents/abc123/"
    assert cancelled == "https://status.example.test/status/"


def test_the_history_lists_completed_maintenance_with_the_incidents(client: Client) -> None:
    done = finished("Database upgrade", days_ago=3)
    finished("Called off", days_ago=4, status=MaintenanceStatus.CANCELLED)
    maintenance(
        "Still ahead",
        scheduled_for=NOW + timedelta(days=1),
        scheduled_until=NOW + timedelta(days=1, hours=1),
    )
    response = client.get("/status/history/")
    words = text(response)
    assert "Database upgrade" in words
    assert "Maintenance completed" in words
    assert "Database upgrade: completed." in words
    assert f'href="/status/incidents/{done.code}/"' in response.content.decode()
    assert "Called off" not in words
    assert "Still ahead" not in words


def test_the_history_goes_back_to_the_first_completed_maintenance(client: Client) -> None:
    finished("Old upgrade", days_ago=70)
    body = client.get("/status/history/").content.decode()
    assert 'rel="prev" href="/status/history/2026-02/"' in body
    assert "Old upgrade" in text(client.get("/status/history/2025-12/"))
