"""summary.json held against Statuspage's documented shape (tests/statuspage/fixtures/
statuspage_summary.json, a copy of ../shared/samples/statuspage/summary.json), key by key."""

import copy
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from statuspage.models import MaintenanceStatus, PublicStatus
from tests.statuspage.spapi_fixtures import (
    component,
    maintenance,
    maintenance_update,
    public_incident,
    public_update,
    sample,
    sample_page,
)

pytestmark = pytest.mark.django_db

ACME = override_settings(
    STATUSPAGE_PAGE_ID="tcs0page0001",
    STATUSPAGE_NAME="Acme",
    STATUSPAGE_TIME_ZONE="Etc/UTC",
    BASE_URL="https://status.acme.example",
)


def same_shape(ours: Any, theirs: Any, path: str = "$") -> list[str]:
    """Where `ours` differs from `theirs` in keys or value types, recursively. A list's items
    are each held against the sample's item of the same kind (a group against a group)."""
    if theirs is None or ours is None:
        return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: {type(ours).__name__}, not an object"]
        problems = []
        if set(ours) != set(theirs):
            problems.append(
                f"{path}: keys {sorted(set(ours) - set(theirs))} extra,"
                f" {sorted(set(theirs) - set(ours))} missing"
            )
        for key in set(ours) & set(theirs):
            problems += same_shape(ours[key], theirs[key], f"{path}.{key}")
        return problems
    if isinstance(theirs, list):
        if not isinstance(ours, list):
            return [f"{path}: {type(ours).__name__}, not a list"]
        problems = []
        for index, item in enumerate(ours):
            model = _same_kind(item, theirs)
            if model is not None:
                problems += same_shape(item, model, f"{path}[{index}]")
        return problems
    if type(ours) is not type(theirs):
        return [f"{path}: {type(ours).__name__} where Statuspage has {type(theirs).__name__}"]
    return []


def _same_kind(item: Any, theirs: list[Any]) -> Any:
    for model in theirs:
        if not isinstance(item, dict) or item.get("group") == model.get("group"):
            return model
    return None


def summary(client: Client) -> dict[str, Any]:
    response = client.get(reverse("statuspage:api-summary"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    return body


@ACME
def test_summary_of_rows_mirroring_the_sample_is_the_sample(client: Client) -> None:
    sample_page()
    expected = copy.deepcopy(sample())
    # Where ours must differ: the page lives under /status/ with its incident pages, a
    # maintenance's page too (at an incident's address); the page's last change is the latest
    # row's (the sample's is later than any of its rows); and the maintenance lists the
    # component its update names (the sample's list is empty).
    expected["page"]["url"] = "https://status.acme.example/status/"
    expected["page"]["updated_at"] = "2026-11-30T14:02:00.000Z"
    expected["incidents"][0]["shortlink"] = (
        "https://status.acme.example/status/incidents/inc0000000042/"
    )
    expected["scheduled_maintenances"][0]["shortlink"] = (
        "https://status.acme.example/status/incidents/mnt0000000007/"
    )
    expected["scheduled_maintenances"][0]["components"] = [expected["components"][2]]

    assert summary(client) == expected


@ACME
def test_summary_has_the_samples_keys_and_types_at_every_level(client: Client) -> None:
    sample_page()

    assert same_shape(summary(client), sample()) == []


@ACME
def test_a_busier_page_keeps_the_samples_shape(client: Client) -> None:
    """Set values where the sample has nulls, an ungrouped component, a second group, an
    incident in monitoring, a maintenance in progress: still Statuspage's keys and types."""
    rows = sample_page()
    search = component("Search", position=9, description="Full-text search")
    monitored = public_incident(
        "Slow search",
        status=PublicStatus.MONITORING,
        impact="minor",
        monitoring="2026-11-30T13:00Z",
        components=(search, rows["cmp0refunds"]),
    )
    public_update(monitored, "A fix is out; we are watching.", status=PublicStatus.MONITORING)
    underway = maintenance(
        "Index rebuild",
        status=MaintenanceStatus.IN_PROGRESS,
        started_at=rows["mnt0000000007"].created_at,
        components=(search,),
    )
    maintenance_update(underway, "Started.", status=MaintenanceStatus.IN_PROGRESS)

    body = summary(client)

    assert same_shape(body, sample()) == []
    assert len(body["incidents"]) == 2
    assert len(body["scheduled_maintenances"]) == 2


def test_the_shape_check_finds_a_missing_key_a_wrong_type_and_a_group_without_children() -> None:
    theirs = sample()
    ours = copy.deepcopy(theirs)
    del ours["incidents"][0]["incident_updates"][0]["display_at"]
    ours["components"][1]["position"] = "1"
    del ours["components"][0]["components"]

    assert sorted(same_shape(ours, theirs)) == [
        "$.components[0]: keys [] extra, ['components'] missing",
        "$.components[1].position: str where Statuspage has int",
        "$.incidents[0].incident_updates[0]: keys [] extra, ['display_at'] missing",
    ]
