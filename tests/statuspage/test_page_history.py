"""The incident history, one month per page, and the overall status's derivation."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from incidents.models import StatusPageImpact
from statuspage.models import ComponentState, PublicStatus
from statuspage.selectors_page import page_status
from tests.statuspage.sppage_fixtures import incident

# 10 March 2026, noon UTC; the page counts months in Paris.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def paris_page(settings, clock):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    clock.now = NOW


def text(response) -> str:
    body = re.sub(r"<style>.*?</style>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def resolved(name: str, at: datetime):
    return incident(
        name,
        updates=[
            (PublicStatus.INVESTIGATING, f"{name}: looking.", at),
            (PublicStatus.RESOLVED, f"{name}: fixed.", at + timedelta(hours=1)),
        ],
        resolved_at=at + timedelta(hours=1),
    )


@pytest.fixture
def history(db):
    resolved("March outage", datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    # 23:30 UTC on 28 February is 00:30 on 1 March in Paris: a March incident.
    resolved("Midnight blip", datetime(2026, 2, 28, 23, 30, tzinfo=UTC))
    resolved("February outage", datetime(2026, 2, 14, 9, 0, tzinfo=UTC))
    resolved("December outage", datetime(2025, 12, 5, 9, 0, tzinfo=UTC))
    incident("Hidden", withdrawn=True, updates=[(PublicStatus.INVESTIGATING, "x", NOW)])


@pytest.mark.django_db
def test_the_first_page_is_this_month_newest_first(client: Client, history) -> None:
    words = text(client.get("/status/history/"))
    assert "March 2026" in words
    assert words.index("March outage") < words.index("Midnight blip")
    assert "February outage" not in words
    assert "Hidden" not in words
    # The latest update leads each entry.
    assert "March outage: fixed." in words


@pytest.mark.django_db
def test_pages_go_back_a_month_each(client: Client, history) -> None:
    february = text(client.get("/status/history/?page=2"))
    assert "February 2026" in february
    assert "February outage" in february
    assert "March outage" not in february
    assert "No incidents reported in January 2026." in text(client.get("/status/history/?page=3"))


@pytest.mark.django_db
def test_a_month_has_its_own_address_with_previous_and_next_links(client: Client, history) -> None:
    body = client.get("/status/history/2026-02/").content.decode()
    assert "February outage" in body
    assert 'rel="prev" href="/status/history/2026-01/"' in body
    assert 'rel="next" href="/status/history/2026-03/"' in body


@pytest.mark.django_db
def test_the_links_stop_at_this_month_and_at_the_first_incident(client: Client, history) -> None:
    this_month = client.get("/status/history/").content.decode()
    assert 'rel="next"' not in this_month
    first_month = client.get("/status/history/2025-12/").content.decode()
    assert "December outage" in first_month
    assert 'rel="prev"' not in first_month


@pytest.mark.django_db
def test_a_future_or_malformed_month_is_not_found(client: Client, history) -> None:
    assert client.get("/status/history/2026-04/").status_code == 404
    assert client.get("/status/history/2026-13/").status_code == 404
    assert client.get("/status/history/march/").status_code == 404
    assert client.get("/status/history/?page=x").status_code == 200


@pytest.mark.django_db
def test_each_month_is_cached_apart(client: Client, history) -> None:
    march = client.get("/status/history/")
    february = client.get("/status/history/?page=2")
    assert march["ETag"] != february["ETag"]
    assert client.get("/status/history/2026-02/")["ETag"] == february["ETag"]
    assert (
        client.get(
            "/status/history/?page=2", headers={"If-None-Match": february["ETag"]}
        ).status_code
        == 304
    )


class Impact:
    def __init__(self, impact: str) -> None:
        self.impact = impact


@pytest.mark.parametrize(
    ("states", "impacts", "indicator", "description"),
    [
        ([ComponentState.OPERATIONAL], [], "none", "All Systems Operational"),
        ([ComponentState.DEGRADED_PERFORMANCE], [], "minor", "Minor Service Outage"),
        ([ComponentState.PARTIAL_OUTAGE], [], "major", "Partial System Outage"),
        ([ComponentState.MAJOR_OUTAGE], [], "critical", "Major System Outage"),
        ([ComponentState.OPERATIONAL], [StatusPageImpact.MINOR], "minor", "Minor Service Outage"),
        (
            [ComponentState.DEGRADED_PERFORMANCE],
            [StatusPageImpact.CRITICAL],
            "critical",
            "Major System Outage",
        ),
        (
            [ComponentState.PARTIAL_OUTAGE],
            [StatusPageImpact.MINOR],
            "major",
            "Partial System Outage",
        ),
        ([ComponentState.OPERATIONAL], [StatusPageImpact.NONE], "none", "All Systems Operational"),
        ([ComponentState.UNDER_MAINTENANCE], [], "maintenance", "Service Under Maintenance"),
        (
            [ComponentState.UNDER_MAINTENANCE, ComponentState.DEGRADED_PERFORMANCE],
            [],
            "minor",
            "Minor Service Outage",
        ),
        ([], [], "none", "All Systems Operational"),
    ],
)
def test_the_overall_status_is_the_worst_of_states_and_open_incidents(
    states, impacts, indicator, description
) -> None:
    status = page_status(states=states, incidents=[Impact(impact) for impact in impacts])
    assert (status.indicator, status.description) == (indicator, description)


def test_maintenance_in_progress_alone_is_said_on_the_banner() -> None:
    status = page_status(states=[ComponentState.OPERATIONAL], incidents=[], maintenance=True)
    assert status.maintenance
    assert status.description == "Service Under Maintenance"
