"""The page's banner, status.json and the webhook payload's page state the overall status by
one rule (statuspage.overall), so a widget, a subscriber and a reader never disagree."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import StatusPageImpact
from statuspage.models import ComponentState, MaintenanceStatus
from statuspage.subscriptions.webhooks import page_status
from tests.statuspage.sppage_fixtures import component, incident, maintenance

pytestmark = pytest.mark.django_db


def everyone_says(client: Client) -> tuple[str, str, str]:
    status = json.loads(client.get("/status/api/v2/status.json").content)["status"]
    page = client.get("/status/").content.decode()
    banner = "banner--" + status["indicator"]
    assert banner in page, f"{banner} not on the page"
    assert status["description"] in page
    hooked = page_status()
    assert (hooked["status_indicator"], hooked["status_description"]) == (
        status["indicator"],
        status["description"],
    )
    return status["indicator"], status["description"], banner


def test_maintenance_in_progress_alone(client) -> None:
    now = timezone.now()
    api = component("API", state=ComponentState.UNDER_MAINTENANCE)
    maintenance(
        "Database upgrade",
        scheduled_for=now - timedelta(minutes=10),
        scheduled_until=now + timedelta(hours=1),
        status=MaintenanceStatus.IN_PROGRESS,
        components=[api],
    )
    assert everyone_says(client)[:2] == ("maintenance", "Service Under Maintenance")


def test_a_critical_incident(client) -> None:
    api = component("API", state=ComponentState.MAJOR_OUTAGE)
    incident("Checkout down", components=[api], impact=StatusPageImpact.CRITICAL)
    assert everyone_says(client)[:2] == ("critical", "Major System Outage")


def test_an_incident_of_minor_impact_on_no_component(client) -> None:
    component("API")
    incident("Slow exports", impact=StatusPageImpact.MINOR)
    assert everyone_says(client)[:2] == ("minor", "Minor Service Outage")
