"""The read-only lists: severities, services, teams and users."""

import pytest

from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.incidents.api_support import API, api_client, assert_problem


def test_severities_lists_the_playbook_table_most_severe_first(viewer):
    response = api_client(viewer).get(f"{API}/severities/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert set(rows[0]) == {
        "name",
        "rank",
        "description",
        "response_target",
        "escalation",
        "statuspage_impact",
        "update_cadence",
        "color",
    }
    assert rows[0]["statuspage_impact"] == "critical"


def test_services_lists_services_with_their_team(viewer):
    team = TeamFactory(name="Payments", slug="payments")
    ServiceFactory(name="Checkout", slug="checkout", team=team, public=True)
    ServiceFactory(name="Billing", slug="billing", team=None)

    rows = api_client(viewer).get(f"{API}/services/").json()["results"]

    assert rows == [
        {"slug": "billing", "name": "Billing", "description": "", "team": None, "public": False},
        {
            "slug": "checkout",
            "name": "Checkout",
            "description": "",
            "team": "payments",
            "public": True,
        },
    ]


def test_teams_lists_teams_by_name(viewer):
    TeamFactory(name="Search", slug="search")
    TeamFactory(name="Payments", slug="payments", description="Money in")

    rows = api_client(viewer).get(f"{API}/teams/").json()["results"]

    assert rows == [
        {"slug": "payments", "name": "Payments", "description": "Money in"},
        {"slug": "search", "name": "Search", "description": ""},
    ]


def test_users_lists_active_users_without_private_details(viewer, responder):
    UserFactory(username="gone", is_active=False)

    rows = api_client(viewer).get(f"{API}/users/").json()["results"]

    assert rows == [
        {"username": "rosa", "name": "Rosa Responder", "role": "responder"},
        {"username": "vic", "name": "Vic Viewer", "role": "viewer"},
    ]


@pytest.mark.parametrize("path", ["severities", "services", "teams", "users"])
def test_catalog_lists_need_credentials(db, path):
    response = api_client().get(f"{API}/{path}/")

    assert_problem(response, 401)


@pytest.mark.parametrize("path", ["severities", "services", "teams", "users"])
def test_catalog_lists_are_read_only(admin_user, path):
    response = api_client(admin_user).post(f"{API}/{path}/", {"name": "x"})

    assert_problem(response, 405)


@pytest.mark.parametrize("rows", [5, 40])
def test_catalog_query_counts_do_not_grow_with_rows(rows, viewer, django_assert_max_num_queries):
    for _ in range(rows):
        ServiceFactory(team=TeamFactory())
        UserFactory()
    client = api_client(viewer)

    for path in ("severities", "services", "teams", "users"):
        # Token lookup and stamp, count, page (services join their team).
        with django_assert_max_num_queries(4):
            response = client.get(f"{API}/{path}/")
        assert response.status_code == 200
