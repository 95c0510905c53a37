"""Listing postmortems through /api/v1/postmortems/: filters, privacy, a page's queries."""

import re
from datetime import UTC, datetime

import pytest

from postmortems.models import ContributingFactor, Postmortem, PostmortemStatus
from postmortems.services.workflow import postmortem_update_details
from tests.factories import ServiceFactory, TeamFactory, severity
from tests.incidents.api_support import API, JsonClient, api_client, assert_problem
from tests.postmortems.api_support import with_postmortem
from tests.postmortems.workflow_support import write

pytestmark = pytest.mark.django_db

LIST = f"{API}/postmortems/"


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["incident"]["title"] for item in response.json()["results"]]


@pytest.fixture
def three(commander):
    """Checkout (SEV1, payments, change), Database (SEV2, platform, published), Search (SEV3)."""
    payments, platform = TeamFactory(name="Payments"), TeamFactory(name="Platform")
    checkout = ServiceFactory(name="checkout", team=payments)
    database = ServiceFactory(name="database", team=platform)
    first = with_postmortem(
        commander,
        title="Checkout is failing",
        team=payments,
        services=[checkout],
        started_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
    )
    postmortem_update_details(
        postmortem=first,
        actor=commander,
        contributing_factors=ContributingFactor.objects.filter(slug="change"),
    )
    second = with_postmortem(
        commander,
        title="Database failover",
        severity=severity("SEV2"),
        team=platform,
        services=[database],
        started_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    )
    Postmortem.objects.filter(pk=second.pk).update(status=PostmortemStatus.PUBLISHED)
    third = with_postmortem(
        commander,
        title="Search is slow",
        severity=severity("SEV3"),
        started_at=datetime(2026, 2, 10, 8, 0, tzinfo=UTC),
    )
    return first, second, third


def test_lists_every_postmortem_newest_incident_first_without_the_document(commander, three):
    response = api_client(commander).get(LIST)

    assert _titles(response) == ["Search is slow", "Checkout is failing", "Database failover"]
    item = response.json()["results"][1]
    assert item["status"] == "draft"
    assert item["contributing_factors"] == ["change"]
    assert item["authors"] == ["cole"]
    assert item["incident"]["team"] == "payments"
    assert "sections" not in item
    assert "markdown" not in item


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("status=published", ["Database failover"]),
        ("status=draft,in_review", ["Search is slow", "Checkout is failing"]),
        ("severity=SEV1&severity=SEV3", ["Search is slow", "Checkout is failing"]),
        ("team=platform", ["Database failover"]),
        ("service=checkout", ["Checkout is failing"]),
        ("contributing_factor=change", ["Checkout is failing"]),
        ("q=failover", ["Database failover"]),
        ("q=postmortem+search", ["Search is slow"]),
        ("team=&q=&month=", ["Search is slow", "Checkout is failing", "Database failover"]),
        ("team=nobody", []),
        ("unknown=1", ["Search is slow", "Checkout is failing", "Database failover"]),
    ],
)
def test_filters(commander, three, query, titles):
    assert _titles(api_client(commander).get(f"{LIST}?{query}")) == titles


def test_q_searches_as_the_web_list_does_the_teams_words_in_the_document_too(commander, three):
    first, _second, _third = three
    write(first, commander, "root-cause", "A cold Memcached after failover.")

    response = api_client(commander).get(LIST, {"q": "memcached"})

    assert _titles(response) == ["Checkout is failing"]


def test_q_finds_an_incident_by_its_ref(commander, three):
    _first, second, _third = three

    response = api_client(commander).get(LIST, {"q": second.incident.ref})

    assert _titles(response) == ["Database failover"]


def test_month_is_when_impact_began_in_the_organisations_zone(commander, three, settings):
    # 2026-01-31 23:30 UTC is already February in Berlin.
    settings.ORGANISATION_TIME_ZONE = "Europe/Berlin"
    client = api_client(commander)

    assert _titles(client.get(LIST, {"month": "2026-01"})) == ["Database failover"]
    assert _titles(client.get(LIST, {"month": "2026-02"})) == [
        "Search is slow",
        "Checkout is failing",
    ]
    assert _titles(client.get(LIST, {"month": "9999-12"})) == []


def test_in_utc_the_last_hour_of_january_stays_in_january(commander, three, settings):
    settings.ORGANISATION_TIME_ZONE = "UTC"

    response = api_client(commander).get(LIST, {"month": "2026-01"})

    assert _titles(response) == ["Checkout is failing", "Database failover"]


def test_a_private_incidents_postmortem_is_listed_to_its_participants_only(
    commander, outsider, admin_user
):
    with_postmortem(commander, title="A private matter", private=True)
    with_postmortem(commander, title="Out in the open")

    assert _titles(api_client(outsider).get(LIST)) == ["Out in the open"]
    assert _titles(api_client(commander).get(LIST)) == ["Out in the open", "A private matter"]
    assert _titles(api_client(admin_user).get(LIST)) == ["Out in the open", "A private matter"]


def test_the_schema_says_which_months_are_taken():
    schema = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    parameters = schema.json()["paths"]["/api/v1/postmortems/"]["get"]["parameters"]
    pattern = next(p["schema"]["pattern"] for p in parameters if p["name"] == "month")

    # Blank is no filter, as everywhere in the list's query string.
    assert [bool(re.search(pattern, month)) for month in ("", "2026-03", "2026-13", "2026-3")] == [
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=void", "status.0"),
        ("month=2026-13", "month"),
        ("month=2026-1", "month"),
        ("month=0999-01", "month"),
        ("q=" + "x" * 201, "q"),
        ("&".join(["severity=SEV1"] * 11), "severity"),
        ("page=last", "page"),
    ],
)
def test_bad_filters_are_400(commander, query, field):
    response = api_client(commander).get(f"{LIST}?{query}")

    assert field in assert_problem(response, 400)["errors"]


@pytest.mark.parametrize("rows", [2, 8])
def test_list_query_count_does_not_grow_with_rows(
    rows, commander, responder, django_assert_max_num_queries
):
    for number in range(rows):
        postmortem = with_postmortem(commander, title=f"Incident {number}")
        postmortem_update_details(
            postmortem=postmortem,
            actor=commander,
            authors=[commander, responder],
            contributing_factors=ContributingFactor.objects.filter(slug__in=["change", "process"]),
        )
    client = api_client(responder)

    # Token lookup and stamp, count, page; the incidents' services, contributing factors and
    # authors.
    with django_assert_max_num_queries(7):
        response = client.get(LIST)

    assert len(response.json()["results"]) == rows
    assert sorted(response.json()["results"][0]["authors"]) == ["cole", "rosa"]
