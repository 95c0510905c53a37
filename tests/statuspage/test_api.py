"""The Statuspage-compatible endpoints: what each lists, the page's indicator, timestamps,
CORS, and a query count independent of the page's size."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Service
from statuspage.api import indicator
from statuspage.models import ComponentState, MaintenanceStatus, PublicStatus
from tests.statuspage.spapi_fixtures import (
    at,
    component,
    group,
    maintenance,
    maintenance_update,
    page_changed,
    public_incident,
    public_update,
)

ENDPOINTS = [
    "statuspage:api-summary",
    "statuspage:api-status",
    "statuspage:api-components",
    "statuspage:api-incidents",
    "statuspage:api-incidents-unresolved",
    "statuspage:api-maintenances",
    "statuspage:api-maintenances-upcoming",
    "statuspage:api-maintenances-active",
]


def fetch(client: Client, name: str) -> dict[str, Any]:
    response = client.get(reverse(name))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# The indicator ------------------------------------------------------------------------------

# Each input alone, as Statuspage rolls it up.
STATE_ALONE = {
    ComponentState.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentState.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentState.DEGRADED_PERFORMANCE: ("minor", "Minor Service Outage"),
    ComponentState.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentState.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}
IMPACT_ALONE = {
    None: ("none", "All Systems Operational"),
    "none": ("none", "All Systems Operational"),
    "minor": ("minor", "Minor Service Outage"),
    "major": ("major", "Partial System Outage"),
    "critical": ("critical", "Major System Outage"),
}
SEVERITY = ["none", "maintenance", "minor", "major", "critical"]


@pytest.mark.parametrize("state", list(STATE_ALONE))
@pytest.mark.parametrize("impact", list(IMPACT_ALONE))
@pytest.mark.parametrize("maintenance_active", [False, True])
def test_the_indicator_is_the_worst_of_components_incidents_and_maintenance(
    state: str, impact: str | None, maintenance_active: bool
) -> None:
    candidates = [STATE_ALONE[state], IMPACT_ALONE[impact]]
    if maintenance_active:
        candidates.append(("maintenance", "Service Under Maintenance"))
    worst, description = max(candidates, key=lambda pair: SEVERITY.index(pair[0]))

    assert indicator(
        component_states=[ComponentState.OPERATIONAL, state],
        impacts=[] if impact is None else [impact],
        maintenance_active=maintenance_active,
    ) == {"indicator": worst, "description": description}


def test_several_incidents_and_components_the_worst_wins() -> None:
    assert indicator(
        component_states=[ComponentState.DEGRADED_PERFORMANCE, ComponentState.UNDER_MAINTENANCE],
        impacts=["minor", "critical", "none"],
        maintenance_active=True,
    ) == {"indicator": "critical", "description": "Major System Outage"}


def test_an_empty_page_is_all_systems_operational() -> None:
    assert indicator(component_states=[], impacts=[], maintenance_active=False) == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(STATE_ALONE))
def test_status_json_and_summary_follow_a_components_state(client: Client, state: str) -> None:
    component("API", state=state)
    component("Web")
    indicator_, description = STATE_ALONE[state]

    for name in ("statuspage:api-status", "statuspage:api-summary"):
        assert fetch(client, name)["status"] == {
            "indicator": indicator_,
            "description": description,
        }


@pytest.mark.django_db
@pytest.mark.parametrize("impact", ["none", "minor", "major", "critical"])
def test_status_json_and_summary_follow_an_unresolved_incidents_impact(
    client: Client, impact: str
) -> None:
    public_incident("Trouble", impact=impact)
    indicator_, description = IMPACT_ALONE[impact]

    for name in ("statuspage:api-status", "statuspage:api-summary"):
        assert fetch(client, name)["status"] == {
            "indicator": indicator_,
            "description": description,
        }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (MaintenanceStatus.SCHEDULED, "none"),
        (MaintenanceStatus.IN_PROGRESS, "maintenance"),
        (MaintenanceStatus.VERIFYING, "maintenance"),
        (MaintenanceStatus.COMPLETED, "none"),
        (MaintenanceStatus.CANCELLED, "none"),
    ],
)
def test_only_maintenance_underway_puts_the_page_under_maintenance(
    client: Client, status: str, expected: str
) -> None:
    maintenance("Upgrade", status=status)

    for name in ("statuspage:api-status", "statuspage:api-summary"):
        assert fetch(client, name)["status"]["indicator"] == expected


@pytest.mark.django_db
def test_resolved_and_withdrawn_incidents_and_hidden_components_do_not_count(
    client: Client,
) -> None:
    public_incident(
        "Over", impact="critical", status=PublicStatus.RESOLVED, resolved="2026-12-01T10:00Z"
    )
    public_incident("Taken back", impact="critical", withdrawn=True)
    component("Internal only", state=ComponentState.MAJOR_OUTAGE, public=False)

    for name in ("statuspage:api-status", "statuspage:api-summary"):
        assert fetch(client, name)["status"]["indicator"] == "none"


# Components ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_components_lists_groups_before_their_children_then_the_ungrouped(
    client: Client,
) -> None:
    storage = group("Storage", position=2)
    payments = group("Payments", position=1)
    refunds = component("Refunds", in_group=payments, position=2)
    checkout = component("Checkout", in_group=payments, position=1, state="partial_outage")
    blobs = component("Blobs", in_group=storage, state="degraded_performance")
    docs = component("Docs", position=5)
    component("Secret service", in_group=payments, public=False)

    listed = fetch(client, "statuspage:api-components")["components"]

    assert [(c["id"], c["group"], c["group_id"], c["position"]) for c in listed] == [
        (payments.code, True, None, 1),
        (checkout.code, False, payments.code, 1),
        (refunds.code, False, payments.code, 2),
        (storage.code, True, None, 2),
        (blobs.code, False, storage.code, 1),
        (docs.code, False, None, 3),
    ]
    # A group shows its visible children and their worst state; children carry no list.
    assert listed[0]["components"] == [checkout.code, refunds.code]
    assert listed[0]["status"] == "partial_outage"
    assert listed[3]["status"] == "degraded_performance"
    assert all("components" not in c for c in listed if not c["group"])


@pytest.mark.django_db
def test_a_component_shows_its_public_name_and_blank_descriptions_as_null(
    client: Client,
) -> None:
    named = component("svc-api-gw", public_name="Public API")
    plain = component("Dashboard", description="")

    listed = {c["id"]: c for c in fetch(client, "statuspage:api-components")["components"]}

    assert listed[named.code]["name"] == "Public API"
    assert listed[plain.code]["name"] == "Dashboard"
    assert listed[plain.code]["description"] is None


@pytest.mark.django_db
def test_a_service_made_private_leaves_every_list(client: Client) -> None:
    shown = component("Checkout")
    hidden = component("Ledger")
    incident = public_incident("Errors", components=(shown, hidden))
    public_update(
        incident,
        "Errors.",
        affected=[
            {
                "code": c.code,
                "name": str(c),
                "old_status": "operational",
                "new_status": "major_outage",
            }
            for c in (shown, hidden)
        ],
    )
    Service.objects.filter(pk=hidden.service_id).update(public=False)
    page_changed()

    body = fetch(client, "statuspage:api-summary")

    assert ids(body["components"]) == [shown.code]
    assert ids(body["incidents"][0]["components"]) == [shown.code]
    affected = body["incidents"][0]["incident_updates"][0]["affected_components"]
    assert [a["code"] for a in affected] == [shown.code]
    assert affected[0]["name"] == "Checkout"


# Incidents ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_incidents_lists_the_fifty_most_recent_newest_first_resolved_included(
    client: Client,
) -> None:
    start = at("2026-10-01T00:00Z")
    made = [
        public_incident(
            f"Incident {n}",
            created=(start + timedelta(hours=n)).isoformat(),
            status=PublicStatus.RESOLVED if n % 2 else PublicStatus.INVESTIGATING,
            resolved=(start + timedelta(hours=n, minutes=30)).isoformat() if n % 2 else None,
        )
        for n in range(53)
    ]
    public_incident("Withdrawn", created="2026-12-01T00:00Z", withdrawn=True)

    listed = fetch(client, "statuspage:api-incidents")["incidents"]

    assert ids(listed) == [incident.code for incident in reversed(made)][:50]


@pytest.mark.django_db
def test_unresolved_lists_only_open_published_incidents(client: Client) -> None:
    open_one = public_incident(
        "Open", status=PublicStatus.MONITORING, monitoring="2026-11-30T14:30Z"
    )
    public_incident("Done", status=PublicStatus.RESOLVED, resolved="2026-11-30T15:00Z")
    public_incident("Withdrawn", withdrawn=True)

    body = fetch(client, "statuspage:api-incidents-unresolved")

    assert ids(body["incidents"]) == [open_one.code]
    assert body["incidents"][0]["monitoring_at"] == "2026-11-30T14:30:00.000Z"
    assert set(body) == {"page", "incidents"}


@pytest.mark.django_db
def test_an_incidents_updates_are_newest_first_with_statuspage_fields(client: Client) -> None:
    incident = public_incident(
        "Errors", status=PublicStatus.RESOLVED, resolved="2026-11-30T15:00:00.250Z"
    )
    first = public_update(incident, "Looking.", created="2026-11-30T13:51Z")
    last = public_update(
        incident, "Fixed.", status=PublicStatus.RESOLVED, created="2026-11-30T15:00:00.250Z"
    )
    middle = public_update(
        incident, "Found it.", status=PublicStatus.IDENTIFIED, created="2026-11-30T14:10Z"
    )

    listed = fetch(client, "statuspage:api-incidents")["incidents"][0]

    assert ids(listed["incident_updates"]) == [last.code, middle.code, first.code]
    newest = listed["incident_updates"][0]
    assert newest == {
        "id": last.code,
        "status": "resolved",
        "body": "Fixed.",
        "incident_id": incident.code,
        "created_at": "2026-11-30T15:00:00.250Z",
        "updated_at": "2026-11-30T15:00:00.250Z",
        "display_at": "2026-11-30T15:00:00.250Z",
        "affected_components": [],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }
    assert listed["resolved_at"] == "2026-11-30T15:00:00.250Z"
    assert listed["shortlink"].endswith(
        reverse("statuspage:incident", kwargs={"code": incident.code})
    )


@pytest.mark.django_db
@override_settings(STATUSPAGE_TIME_ZONE="Europe/Berlin")
def test_times_are_given_in_the_pages_zone_to_the_millisecond(client: Client) -> None:
    public_incident("Errors", created="2026-11-30T13:51:07.123456Z", started="2026-07-01T10:00Z")

    body = fetch(client, "statuspage:api-incidents")

    assert body["page"]["time_zone"] == "Europe/Berlin"
    assert body["incidents"][0]["created_at"] == "2026-11-30T14:51:07.123+01:00"
    assert body["incidents"][0]["started_at"] == "2026-07-01T12:00:00.000+02:00"


# Scheduled maintenance ----------------------------------------------------------------------


@pytest.mark.django_db
def test_maintenance_lists_by_status(client: Client) -> None:
    disk = component("Disk")
    upcoming = maintenance(
        "Later", scheduled_for="2026-12-10T02:00Z", scheduled_until="2026-12-10T03:00Z"
    )
    sooner = maintenance(
        "Sooner", scheduled_for="2026-12-08T02:00Z", scheduled_until="2026-12-08T03:00Z"
    )
    underway = maintenance("Now", status=MaintenanceStatus.IN_PROGRESS, components=(disk,))
    checking = maintenance("Checking", status=MaintenanceStatus.VERIFYING)
    done = maintenance(
        "Done",
        status=MaintenanceStatus.COMPLETED,
        scheduled_for="2026-11-01T02:00Z",
        scheduled_until="2026-11-01T03:00Z",
        completed_at=at("2026-11-01T02:40Z"),
    )
    maintenance("Called off", status=MaintenanceStatus.CANCELLED)

    every = fetch(client, "statuspage:api-maintenances")["scheduled_maintenances"]
    # By window, latest first; the same window, the later scheduled first.
    assert ids(every) == [upcoming.code, sooner.code, checking.code, underway.code, done.code]
    assert ids(fetch(client, "statuspage:api-maintenances-upcoming")["scheduled_maintenances"]) == [
        sooner.code,
        upcoming.code,
    ]
    assert sorted(
        ids(fetch(client, "statuspage:api-maintenances-active")["scheduled_maintenances"])
    ) == sorted([underway.code, checking.code])
    summary = fetch(client, "statuspage:api-summary")["scheduled_maintenances"]
    assert set(ids(summary)) == {upcoming.code, sooner.code, underway.code, checking.code}

    by_id = {m["id"]: m for m in every}
    assert by_id[done.code]["resolved_at"] == "2026-11-01T02:40:00.000Z"
    assert by_id[upcoming.code]["scheduled_for"] == "2026-12-10T02:00:00.000Z"
    assert by_id[upcoming.code]["scheduled_until"] == "2026-12-10T03:00:00.000Z"
    assert by_id[underway.code]["impact"] == "maintenance"
    assert ids(by_id[underway.code]["components"]) == [disk.code]


@pytest.mark.django_db
def test_a_maintenances_events_are_its_updates_newest_first(client: Client) -> None:
    disk = component("Disk")
    window = maintenance("Upgrade", status=MaintenanceStatus.COMPLETED, components=(disk,))
    scheduled = maintenance_update(window, "Planned.", created="2026-11-28T10:00Z")
    started = maintenance_update(
        window, "Started.", status=MaintenanceStatus.IN_PROGRESS, created="2026-12-06T02:00Z"
    )
    completed = maintenance_update(
        window, "Done.", status=MaintenanceStatus.COMPLETED, created="2026-12-06T02:40Z"
    )

    listed = fetch(client, "statuspage:api-maintenances")["scheduled_maintenances"][0]

    assert ids(listed["incident_updates"]) == [completed.code, started.code, scheduled.code]
    moves = [
        (u["affected_components"][0]["old_status"], u["affected_components"][0]["new_status"])
        for u in listed["incident_updates"]
    ]
    assert moves == [
        ("under_maintenance", "operational"),
        ("operational", "under_maintenance"),
        ("operational", "operational"),
    ]
    assert listed["incident_updates"][0]["incident_id"] == window.code


@pytest.mark.django_db
def test_maintenance_lists_are_bounded_to_fifty(client: Client) -> None:
    start = at("2026-01-01T00:00Z")
    for n in range(52):
        maintenance(
            f"Window {n}",
            status=MaintenanceStatus.COMPLETED,
            scheduled_for=(start + timedelta(days=n)).isoformat(),
            scheduled_until=(start + timedelta(days=n, hours=1)).isoformat(),
        )

    listed = fetch(client, "statuspage:api-maintenances")["scheduled_maintenances"]

    assert [m["name"] for m in listed] == [f"Window {n}" for n in range(51, 1, -1)]


# The page object, headers ------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(STATUSPAGE_PAGE_ID="pg1", STATUSPAGE_NAME="Example", BASE_URL="https://ex.test")
def test_every_endpoint_answers_with_the_page(client: Client) -> None:
    component("API", updated="2026-11-30T09:00Z")
    public_incident("Old", created="2026-11-01T09:00Z", updated="2026-11-30T12:34:56.789Z")

    for name in ENDPOINTS:
        page = fetch(client, name)["page"]
        assert page == {
            "id": "pg1",
            "name": "Example",
            "url": "https://ex.test/status/",
            "time_zone": page["time_zone"],
            "updated_at": "2026-11-30T12:34:56.789Z",
        }, name


@pytest.mark.django_db
def test_an_empty_page_has_a_null_updated_at_and_empty_lists(client: Client) -> None:
    body = fetch(client, "statuspage:api-summary")

    assert body["page"]["updated_at"] is None
    assert body["components"] == body["incidents"] == body["scheduled_maintenances"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ENDPOINTS)
def test_any_site_may_read_the_json(client: Client, name: str) -> None:
    response = client.get(reverse(name), headers={"Origin": "https://elsewhere.example"})

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.django_db
def test_the_api_only_reads(client: Client) -> None:
    assert client.post(reverse("statuspage:api-summary")).status_code == 405
    assert client.head(reverse("statuspage:api-summary")).status_code == 200


# Caching ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ENDPOINTS)
def test_a_repeated_request_is_answered_from_the_cache_until_the_page_changes(
    client: Client, name: str
) -> None:
    component("API")
    first = client.get(reverse(name))
    with CaptureQueriesContext(connection) as captured:
        again = client.get(reverse(name))
    assert len(captured) == 0
    assert again.content == first.content

    public_incident("New trouble", impact="critical")

    assert client.get(reverse(name)).content != first.content


@pytest.mark.django_db
@override_settings(STATUSPAGE_MAX_AGE=7)
def test_the_json_is_public_and_revalidated_with_a_304(client: Client) -> None:
    component("API")
    first = client.get(reverse("statuspage:api-summary"))
    assert first["Cache-Control"] == "public, max-age=7"

    with CaptureQueriesContext(connection) as captured:
        answer = client.get(
            reverse("statuspage:api-summary"), headers={"If-None-Match": first["ETag"]}
        )

    assert answer.status_code == 304
    assert len(captured) == 0
    assert answer["Access-Control-Allow-Origin"] == "*"


# Queries ------------------------------------------------------------------------------------


def populate(size: int, prefix: str) -> None:
    """`size` of everything: groups of components, open and resolved incidents with updates,
    maintenances with events."""
    start = at("2026-11-01T00:00Z")
    groups = [group(f"{prefix} group {n}") for n in range(max(1, size // 3))]
    components = [
        component(f"{prefix} component {n}", in_group=groups[n % len(groups)] if n % 4 else None)
        for n in range(size)
    ]
    for n in range(size):
        moment = (start + timedelta(hours=n)).isoformat()
        incident = public_incident(
            f"Incident {n}",
            created=moment,
            components=tuple(components[n : n + 2]),
            status=PublicStatus.RESOLVED if n % 2 else PublicStatus.IDENTIFIED,
            resolved=moment if n % 2 else None,
        )
        for step in range(2):
            public_update(
                incident,
                f"Update {step}",
                created=moment,
                affected=[
                    {
                        "code": components[n].code,
                        "name": "x",
                        "old_status": "operational",
                        "new_status": "partial_outage",
                    }
                ],
            )
        window = maintenance(
            f"Window {n}",
            status=[MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS][n % 2],
            components=tuple(components[n : n + 2]),
        )
        maintenance_update(window, "Planned.")


def queries(client: Client, name: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    return len(captured)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ENDPOINTS)
def test_queries_do_not_grow_with_the_page(client: Client, name: str) -> None:
    populate(2, "small")
    small = queries(client, name)
    populate(12, "large")

    assert queries(client, name) == small
    assert small <= 10
