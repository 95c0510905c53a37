"""The page's "Past incidents", as Statuspage shows them: the last days (7 by default,
STATUSPAGE_PAST_INCIDENT_DAYS) newest first, each with its incidents and their updates, or
"No incidents reported"."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from statuspage.models import MaintenanceStatus, PublicStatus
from tests.statuspage.sppage_fixtures import component, incident, maintenance

pytestmark = [pytest.mark.django_db]

# Noon on Tuesday 10 March 2026, UTC; the page counts days in Paris.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def paris_page(settings, clock):
    settings.STATUSPAGE_TIME_ZONE = "Europe/Paris"
    clock.now = NOW


def past(client: Client) -> str:
    """The words of the page's Past incidents section."""
    body = client.get("/status/").content.decode()
    section = re.search(r'<section[^>]*aria-labelledby="past-incidents".*?</section>', body, re.S)
    assert section is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section[0])).strip()


def resolved(name: str, at: datetime, **kwargs):
    return incident(
        name,
        updates=[
            (PublicStatus.INVESTIGATING, f"{name}: looking.", at),
            (PublicStatus.RESOLVED, f"{name}: fixed.", at + timedelta(minutes=30)),
        ],
        resolved_at=at + timedelta(minutes=30),
        **kwargs,
    )


def test_seven_days_newest_first_each_saying_when_nothing_happened(client: Client) -> None:
    words = past(client)
    days = re.findall(r"Mar \d+, 2026", words)
    assert days == [f"Mar {day}, 2026" for day in range(10, 3, -1)]
    assert words.count("No incidents reported today.") == 1
    assert words.count("No incidents reported.") == 6


def test_an_incident_is_listed_under_its_day_with_its_updates(client: Client) -> None:
    resolved("Login errors", NOW - timedelta(days=2))
    words = past(client)
    day = words[words.index("Mar 8, 2026") : words.index("Mar 7, 2026")]
    assert "Login errors" in day
    assert day.index("Resolved Login errors: fixed.") < day.index(
        "Investigating Login errors: looking."
    )
    assert words.count("No incidents reported.") == 5


def test_days_are_counted_in_the_page_zone(client: Client) -> None:
    # 23:30 UTC on 8 March is 00:30 on 9 March in Paris.
    resolved("Midnight blip", datetime(2026, 3, 8, 23, 30, tzinfo=UTC))
    words = past(client)
    assert "Midnight blip" in words[words.index("Mar 9, 2026") : words.index("Mar 8, 2026")]


def test_older_and_withdrawn_incidents_are_not_listed(client: Client) -> None:
    resolved("Last month", NOW - timedelta(days=8))
    resolved("Hidden", NOW - timedelta(days=1), withdrawn=True)
    words = past(client)
    assert "Last month" not in words
    assert "Hidden" not in words


def test_an_open_incident_is_listed_on_its_day_too(client: Client) -> None:
    incident("Still broken", updates=[(PublicStatus.INVESTIGATING, "Looking.", NOW)])
    words = past(client)
    assert "Still broken" in words[: words.index("Mar 9, 2026")]
    assert "No incidents reported today." not in words


def test_completed_maintenance_is_listed_on_its_day(client: Client) -> None:
    start = NOW - timedelta(days=1)
    maintenance(
        "Database upgrade",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        status=MaintenanceStatus.COMPLETED,
    )
    maintenance(
        "Next week",
        scheduled_for=NOW + timedelta(days=7),
        scheduled_until=NOW + timedelta(days=7, hours=1),
    )
    words = past(client)
    assert "Database upgrade" in words[words.index("Mar 9, 2026") : words.index("Mar 8, 2026")]
    assert "Next week" not in words


def test_the_number_of_days_is_a_setting(client: Client, settings) -> None:
    settings.STATUSPAGE_PAST_INCIDENT_DAYS = 3
    assert re.findall(r"Mar \d+, 2026", past(client)) == [
        "Mar 10, 2026",
        "Mar 9, 2026",
        "Mar 8, 2026",
    ]


def test_the_page_with_past_incidents_reads_a_bounded_number_of_queries(
    client: Client, django_assert_max_num_queries
) -> None:
    for n in range(10):
        part = component(f"Part {n}", created_at=NOW - timedelta(days=100))
        resolved(f"Outage {n}", NOW - timedelta(days=n % 7, hours=1), components=[part])
        incident(f"Open {n}", updates=[(PublicStatus.INVESTIGATING, "x", NOW)])
        start = NOW - timedelta(days=n % 7, hours=3)
        maintenance(
            f"Upgrade {n}",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            status=MaintenanceStatus.COMPLETED,
            components=[part],
        )
    with django_assert_max_num_queries(12):
        words = past(client)
    assert all(f"Outage {n}" in words and f"Upgrade {n}" in words for n in range(10))
