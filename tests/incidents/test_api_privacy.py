"""Private incidents: invisible to outsiders everywhere in the API, as if they did not exist."""

import pytest

from incidents import services
from incidents.models import RoleKind
from tests.factories import declare
from tests.incidents.api_support import API, api_client, assert_problem, incident_url, written_rows


@pytest.fixture
def secret(commander, responder):
    """A private incident run by the commander, with the responder as technical lead."""
    incident = declare(commander, title="Secret breach", private=True, commander=commander)
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.TECHNICAL_LEAD, user=responder
    )
    return incident


def _titles(user, query: str = "") -> list[str]:
    response = api_client(user).get(f"{API}/incidents/?{query}")
    return [row["title"] for row in response.json()["results"]]


def test_outsider_does_not_see_a_private_incident_in_the_list(outsider, secret):
    declare(outsider, title="Public outage")

    assert _titles(outsider) == ["Public outage"]
    assert api_client(outsider).get(f"{API}/incidents/").json()["count"] == 1


@pytest.mark.parametrize("query", ["q=Secret", "q={ref}", "q={number}", "status=open"])
def test_outsider_cannot_find_a_private_incident_by_search(outsider, secret, query):
    assert _titles(outsider, query.format(ref=secret.ref, number=secret.number)) == []


def test_outsider_gets_the_same_404_for_a_private_incident_as_for_none(outsider, secret):
    client = api_client(outsider)

    hidden = client.get(incident_url(secret)).json()
    missing = client.get(f"{API}/incidents/{secret.number + 1}/").json()

    assert {**hidden, "instance": ""} == {**missing, "instance": ""}
    assert hidden["status"] == 404


def test_outsider_cannot_read_a_private_incident_s_timeline(outsider, secret):
    assert_problem(api_client(outsider).get(incident_url(secret, "timeline")), 404)


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("patch", "", {"title": "Not so secret"}),
        ("post", "acknowledge", None),
        ("post", "notes", {"text": "peek"}),
        ("post", "roles", {"role": "subject_expert", "user": "otto"}),
        ("post", "resolve", {}),
    ],
)
def test_outsider_cannot_act_on_a_private_incident(outsider, secret, method, action, body):
    before = written_rows()

    response = getattr(api_client(outsider), method)(incident_url(secret, action), body)

    assert_problem(response, 404)
    assert written_rows() == before


def test_outsider_gets_404_before_any_validation_of_the_body(outsider, secret):
    response = api_client(outsider).post(incident_url(secret, "severity"), {"severity": "SEV9"})

    assert_problem(response, 404)


@pytest.mark.parametrize("persona", ["commander", "responder", "admin_user"])
def test_participants_and_admins_see_a_private_incident(request, persona, secret):
    user = request.getfixturevalue(persona)
    client = api_client(user)

    assert client.get(incident_url(secret)).json()["title"] == "Secret breach"
    assert client.get(incident_url(secret, "timeline")).status_code == 200
    assert _titles(user, f"q={secret.ref}") == ["Secret breach"]


def test_someone_given_a_role_can_see_the_private_incident_from_then_on(
    commander, outsider, secret
):
    client = api_client(outsider)
    assert client.get(incident_url(secret)).status_code == 404

    api_client(commander).post(
        incident_url(secret, "roles"), {"role": "subject_expert", "user": "otto"}
    )

    assert client.get(incident_url(secret)).status_code == 200


def test_a_private_incident_declared_through_the_api_is_hidden_from_outsiders(responder, outsider):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Quiet one", "severity": "SEV3", "private": True}
    )

    number = response.json()["number"]
    assert api_client(responder).get(f"{API}/incidents/{number}/").status_code == 200
    assert_problem(api_client(outsider).get(f"{API}/incidents/{number}/"), 404)


def test_a_participant_who_is_not_commander_cannot_make_a_private_incident_public(
    responder, secret
):
    before = written_rows()

    response = api_client(responder).patch(incident_url(secret), {"private": False})

    assert "commander, a manager or an admin" in assert_problem(response, 403)["detail"]
    assert written_rows() == before


def test_the_commander_can_make_a_private_incident_public(commander, outsider, secret):
    response = api_client(commander).patch(incident_url(secret), {"private": False})

    assert response.status_code == 200, response.content
    assert api_client(outsider).get(incident_url(secret)).status_code == 200
    latest = api_client(commander).get(incident_url(secret, "timeline")).json()["results"][-1]
    assert latest["message"] == "Cole Commander made the incident public"


def test_an_admin_can_make_a_private_incident_public(admin_user, outsider, secret):
    response = api_client(admin_user).patch(incident_url(secret), {"private": False})

    assert response.status_code == 200, response.content
    assert response.json()["private"] is False
    assert api_client(outsider).get(incident_url(secret)).status_code == 200
    latest = api_client(admin_user).get(incident_url(secret, "timeline")).json()["results"][-1]
    assert latest["message"] == "Ada Admin made the incident public"


def test_the_commander_can_make_a_public_incident_private(commander, outsider):
    incident = declare(commander, title="Looked harmless", commander=commander)

    response = api_client(commander).patch(incident_url(incident), {"private": True})

    assert response.status_code == 200, response.content
    assert_problem(api_client(outsider).get(incident_url(incident)), 404)


def test_a_responder_who_is_not_commander_cannot_make_an_incident_private(responder, outsider):
    incident = declare(responder, title="Looked harmless")
    before = written_rows()

    response = api_client(responder).patch(incident_url(incident), {"private": True})

    assert_problem(response, 403)
    assert written_rows() == before
    assert api_client(outsider).get(incident_url(incident)).status_code == 200


def test_a_public_status_update_on_a_private_incident_is_problem_400(commander, secret):
    before = written_rows()

    response = api_client(commander).post(
        incident_url(secret, "updates"), {"message": "We are on it", "public": True}
    )

    assert list(assert_problem(response, 400)["errors"]) == ["public"]
    assert written_rows() == before
