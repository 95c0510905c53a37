"""Declaring, reading, editing and listing incidents through /api/v1/incidents/."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import EventKind, Incident, RoleKind, Source, Status
from tests.factories import ServiceFactory, TeamFactory, UserFactory, declare
from tests.incidents.api_support import API, api_client, assert_problem, incident_url

INCIDENT_FIELDS = {
    "number",
    "ref",
    "title",
    "summary",
    "severity",
    "status",
    "commander",
    "services",
    "team",
    "private",
    "drill",
    "labels",
    "source",
    "cause_category",
    "resolution",
    "roles",
    "started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "identified_at",
    "mitigated_at",
    "resolved_at",
    "last_resolved_at",
    "reopen_count",
    "url",
}


def test_declare_creates_the_incident_with_every_given_field(responder, commander):
    payments = TeamFactory(name="Payments", slug="payments")
    checkout = ServiceFactory(name="Checkout", slug="checkout", team=payments)
    ServiceFactory(name="Cart", slug="cart", team=payments)
    started = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)

    response = api_client(responder).post(
        f"{API}/incidents/",
        {
            "title": "Checkout returns 500",
            "severity": "SEV1",
            "summary": "Every payment fails.",
            "services": ["checkout"],
            "team": "payments",
            "private": True,
            "commander": "cole",
            "started_at": started.isoformat(),
            "labels": {"region": "eu-west-1"},
        },
    )

    assert response.status_code == 201, response.content
    incident = Incident.objects.get(number=response.json()["number"])
    assert incident.title == "Checkout returns 500"
    assert incident.severity.name == "SEV1"
    assert incident.summary == "Every payment fails."
    assert list(incident.services.all()) == [checkout]
    assert incident.team == payments
    assert incident.private is True
    assert incident.commander == commander
    assert incident.started_at == started
    assert incident.labels == {"region": "eu-west-1"}
    assert incident.declared_by == responder


def test_declare_marks_the_incident_and_its_timeline_as_from_the_api(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Search is slow", "severity": "SEV3"}
    )

    incident = Incident.objects.get(number=response.json()["number"])
    assert incident.source == Source.API
    assert list(incident.timeline.values_list("kind", "source")) == [
        (EventKind.DECLARED, Source.API)
    ]


def test_declare_answers_201_with_the_incident_and_its_location(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Search is slow", "severity": "SEV3"}
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == INCIDENT_FIELDS
    assert body["ref"] == f"INC-{body['number']}"
    assert response["Location"] == f"{API}/incidents/{body['number']}/"


def test_declare_needs_only_title_and_severity(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Search is slow", "severity": "SEV3"}
    )

    body = response.json()
    assert body["summary"] == ""
    assert body["services"] == []
    assert body["team"] is None
    assert body["private"] is False
    assert body["commander"] is None
    assert body["labels"] == {}
    assert body["started_at"] == body["detected_at"]


def test_get_incident_shows_every_field(responder, commander, settings):
    settings.BASE_URL = "https://tocsin.example.com"
    team = TeamFactory(name="Payments", slug="payments")
    ServiceFactory(name="Checkout", slug="checkout", team=team)
    incident = declare(
        responder,
        commander=commander,
        team=team,
        services=[ServiceFactory(slug="checkout")],
        labels={"region": "eu"},
    )

    response = api_client(responder).get(incident_url(incident))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == INCIDENT_FIELDS
    assert body["number"] == incident.number
    assert body["ref"] == incident.ref
    assert body["title"] == "Checkout is failing"
    assert body["severity"] == "SEV2"
    assert body["status"] == Status.DETECTED
    assert body["commander"] == "cole"
    assert body["services"] == ["checkout"]
    assert body["team"] == "payments"
    assert body["labels"] == {"region": "eu"}
    assert body["source"] == Source.WEB
    assert body["roles"] == [{"role": RoleKind.COMMANDER, "user": "cole"}]
    assert body["acknowledged_at"] is None
    assert body["url"] == f"https://tocsin.example.com/incidents/{incident.number}/"


def test_patch_edits_the_details(responder):
    team = TeamFactory(slug="payments")
    cart = ServiceFactory(slug="cart")
    # As commander: making it private is the commander's call (or a manager's).
    incident = declare(responder, services=[ServiceFactory(slug="checkout")], commander=responder)
    started = timezone.now().replace(microsecond=0) - timedelta(hours=2)

    response = api_client(responder).patch(
        incident_url(incident),
        {
            "title": "Cart is failing",
            "summary": "Since the deploy.",
            "services": ["cart"],
            "team": "payments",
            "private": True,
            "cause_category": "deploy",
            "started_at": started.isoformat(),
            "labels": {"region": "us"},
        },
    )

    assert response.status_code == 200, response.content
    incident.refresh_from_db()
    assert incident.title == "Cart is failing"
    assert incident.summary == "Since the deploy."
    assert list(incident.services.all()) == [cart]
    assert incident.team == team
    assert incident.private is True
    assert incident.cause_category == "deploy"
    assert incident.started_at == started
    assert incident.labels == {"region": "us"}
    assert response.json()["title"] == "Cart is failing"


def test_patch_records_one_edit_in_the_timeline(responder):
    incident = declare(responder)

    api_client(responder).patch(incident_url(incident), {"title": "New", "summary": "More"})

    edit = incident.timeline.get(kind=EventKind.EDITED)
    assert edit.source == Source.API
    assert edit.data == {"fields": ["title", "summary"]}


def test_patch_with_null_team_clears_the_team(responder):
    incident = declare(responder, team=TeamFactory())

    response = api_client(responder).patch(incident_url(incident), {"team": None})

    assert response.json()["team"] is None
    incident.refresh_from_db()
    assert incident.team is None


def test_patch_severity_changes_it_as_the_severity_action_does(responder):
    incident = declare(responder)

    response = api_client(responder).patch(incident_url(incident), {"severity": "SEV1"})

    assert response.json()["severity"] == "SEV1"
    change = incident.timeline.get(kind=EventKind.SEVERITY_CHANGED)
    assert change.data == {"from": "SEV2", "to": "SEV1"}


def test_patch_status_moves_the_incident_on(responder):
    incident = declare(responder)

    response = api_client(responder).patch(incident_url(incident), {"status": "identified"})

    body = response.json()
    assert body["status"] == Status.IDENTIFIED
    assert body["identified_at"] is not None
    assert incident.timeline.filter(kind=EventKind.STATUS_CHANGED).exists()


def test_patch_repeating_the_current_severity_and_status_changes_nothing(responder):
    incident = declare(responder)
    before = incident.timeline.count()

    response = api_client(responder).patch(
        incident_url(incident), {"severity": "SEV2", "status": "detected"}
    )

    assert response.status_code == 200
    assert incident.timeline.count() == before


def test_patch_refused_status_undoes_the_other_edits(responder):
    incident = declare(responder)
    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
    before = incident.timeline.count()

    response = api_client(responder).patch(
        incident_url(incident),
        {"title": "Renamed", "severity": "SEV1", "status": "acknowledged"},
    )

    assert_problem(response, 409)
    incident.refresh_from_db()
    assert incident.title == "Checkout is failing"
    assert incident.severity.name == "SEV2"
    assert incident.timeline.count() == before


def test_list_shows_open_incidents_first_then_newest_first(responder):
    oldest = declare(responder, title="oldest")
    resolved = declare(responder, title="resolved")
    services.incident_resolve(incident=resolved, actor=responder)
    newest = declare(responder, title="newest")

    response = api_client(responder).get(f"{API}/incidents/")

    assert response.status_code == 200
    numbers = [row["number"] for row in response.json()["results"]]
    assert numbers == [newest.number, oldest.number, resolved.number]


def _listed(user, query: str) -> list[str]:
    response = api_client(user).get(f"{API}/incidents/?{query}")
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


@pytest.fixture
def mixed_incidents(responder, commander):
    """Three incidents that differ in status, severity, team, service and who holds a role."""
    payments = TeamFactory(name="Payments", slug="payments")
    search = TeamFactory(name="Search", slug="search")
    checkout = ServiceFactory(name="Checkout", slug="checkout", team=payments)
    indexer = ServiceFactory(name="Indexer", slug="indexer", team=search)
    first = declare(
        responder,
        title="card payments fail",
        severity_name="SEV1",
        team=payments,
        services=[checkout],
        commander=commander,
    )
    second = declare(
        responder,
        title="indexing lags",
        severity_name="SEV3",
        team=search,
        services=[indexer],
        summary="queue backlog",
    )
    services.incident_set_status(incident=second, actor=responder, status=Status.MONITORING)
    third = declare(responder, title="old outage", severity_name="SEV2")
    services.incident_resolve(incident=third, actor=responder)
    return first, second, third


def test_list_filters_by_one_status(responder, mixed_incidents):
    assert _listed(responder, "status=monitoring") == ["indexing lags"]


def test_list_filters_by_repeated_and_comma_separated_statuses(responder, mixed_incidents):
    expected = ["card payments fail", "old outage"]
    assert _listed(responder, "status=detected&status=resolved") == expected
    assert _listed(responder, "status=detected,resolved") == expected


def test_list_status_open_means_every_open_status(responder, mixed_incidents):
    assert _listed(responder, "status=open") == ["indexing lags", "card payments fail"]


def test_list_filters_by_severity(responder, mixed_incidents):
    assert _listed(responder, "severity=SEV1,SEV3") == ["indexing lags", "card payments fail"]


def test_list_filters_by_team(responder, mixed_incidents):
    assert _listed(responder, "team=search") == ["indexing lags"]


def test_list_filters_by_service(responder, mixed_incidents):
    assert _listed(responder, "service=checkout") == ["card payments fail"]


def test_list_mine_shows_incidents_i_hold_a_role_in(commander, mixed_incidents):
    assert _listed(commander, "mine=true") == ["card payments fail"]


def test_list_mine_false_shows_everyone_s(commander, mixed_incidents):
    assert len(_listed(commander, "mine=false")) == 3


def test_list_q_searches_title_and_summary(responder, mixed_incidents):
    assert _listed(responder, "q=payments") == ["card payments fail"]
    assert _listed(responder, "q=backlog") == ["indexing lags"]


def test_list_q_matches_words_not_the_phrase(responder, mixed_incidents):
    assert _listed(responder, "q=fail+payments") == ["card payments fail"]


def test_list_q_finds_an_incident_by_ref_or_number(responder, mixed_incidents):
    first = mixed_incidents[0]
    assert _listed(responder, f"q=INC-{first.number}") == ["card payments fail"]
    assert _listed(responder, f"q={first.number}") == ["card payments fail"]


def test_list_ignores_blank_filters(responder, mixed_incidents):
    assert len(_listed(responder, "status=&severity=&team=&service=&q=")) == 3


def test_list_filters_combine(responder, mixed_incidents):
    assert _listed(responder, "status=open&severity=SEV1&team=search") == []


def test_list_rejects_an_unknown_status(responder):
    response = api_client(responder).get(f"{API}/incidents/?status=open,sleeping")

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["status.1"]


def test_list_rejects_a_mine_that_is_not_a_boolean(responder):
    response = api_client(responder).get(f"{API}/incidents/?mine=perhaps")

    assert "mine" in assert_problem(response, 400)["errors"]


def test_list_pages_fifty_incidents_at_a_time(responder):
    for n in range(51):
        declare(responder, title=f"incident {n}")
    client = api_client(responder)

    first = client.get(f"{API}/incidents/").json()
    second = client.get(first["next"]).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["results"][0]["title"] == "incident 50"
    assert [row["title"] for row in second["results"]] == ["incident 0"]
    assert second["next"] is None


def test_list_page_past_the_end_is_problem_404(responder):
    declare(responder)

    response = api_client(responder).get(f"{API}/incidents/?page=2")

    assert_problem(response, 404)


@pytest.mark.parametrize("rows", [5, 40])
def test_list_query_count_does_not_grow_with_rows(
    rows, responder, commander, django_assert_max_num_queries
):
    team = TeamFactory()
    checkout, cart = ServiceFactory(team=team), ServiceFactory(team=team)
    expert = UserFactory()
    for _ in range(rows):
        incident = declare(responder, team=team, services=[checkout, cart], commander=commander)
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SUBJECT_EXPERT, user=expert
        )
    client = api_client(responder)

    # Token lookup and stamp, count, page, services, roles with their users.
    with django_assert_max_num_queries(6):
        response = client.get(f"{API}/incidents/")

    assert len(response.json()["results"]) == rows
    assert response.json()["results"][0]["roles"] == [
        {"role": RoleKind.COMMANDER, "user": "cole"},
        {"role": RoleKind.SUBJECT_EXPERT, "user": expert.username},
    ]
