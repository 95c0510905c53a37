"""GET /api/v1/audit/: the same trail for machines, to managers and admins with a token."""

from datetime import UTC, datetime

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from rest_framework.test import APIClient

from accounts.services import api_token_create
from incidents.models import Service, Severity
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/"


def api_for(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)[1]}")
    return api


def _objects(response) -> list[str]:
    """The objects of the entries answered, but the people and tokens the fixtures created."""
    assert response.status_code == 200, response.content
    return [
        entry["object"]
        for entry in response.json()["results"]
        if entry["object_type"] not in ("accounts.user", "accounts.apitoken")
    ]


@pytest.fixture
def history(manager):
    with set_actor(manager):
        ServiceFactory(name="checkout", team=None)
    LogEntry.objects.filter(pk=LogEntry.objects.latest("pk").pk).update(
        timestamp=datetime(2026, 3, 1, 12, tzinfo=UTC)
    )
    sev4 = Severity.objects.get(name="SEV4")
    sev4.description = "Backlog it."
    sev4.save()
    LogEntry.objects.filter(pk=LogEntry.objects.latest("pk").pk).update(
        timestamp=datetime(2026, 3, 2, 12, tzinfo=UTC)
    )


@pytest.mark.parametrize("who", ["viewer", "responder"])
def test_viewers_and_responders_are_refused(request, who):
    response = api_for(request.getfixturevalue(who)).get(URL)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_without_a_token_it_is_401():
    assert APIClient().get(URL).status_code == 401


def test_an_entry_says_who_when_what_and_each_field(manager, history):
    body = api_for(manager).get(URL, {"type": "incidents.severity"}).json()

    assert body["count"] == 1
    [entry] = body["results"]
    assert entry["at"] == "2026-03-02T12:00:00Z"
    assert entry["actor"] is None
    assert entry["actor_name"] == "Tocsin"
    assert entry["action"] == "update"
    assert entry["object_type"] == "incidents.severity"
    assert entry["object"] == "SEV4"
    assert entry["object_id"] == str(Severity.objects.get(name="SEV4").pk)
    [change] = entry["changes"]
    assert change["field"] == "description"
    assert change["after"] == "Backlog it."


def test_a_person_is_named_by_username(manager, history):
    body = api_for(manager).get(URL, {"type": "incidents.service"}).json()

    [entry] = body["results"]
    assert entry["actor"] == {"username": "mona", "name": "Mona Manager"}
    assert entry["actor_name"] == "Mona Manager"
    assert {"field": "name", "before": None, "after": "checkout"} in entry["changes"]


def test_team_members_are_listed_as_added(admin_user, alice):
    team = TeamFactory(name="Payments", slug="payments")
    team.members.add(alice)

    body = api_for(admin_user).get(URL, {"type": "incidents.team"}).json()

    assert body["results"][0]["changes"] == [
        {"field": "members", "added": ["alice"], "removed": []}
    ]


def test_filters(manager, history):
    api = api_for(manager)

    assert _objects(api.get(URL)) == ["SEV4", "checkout"]
    assert _objects(api.get(URL, {"actor": "mona"})) == ["checkout"]
    assert _objects(api.get(URL, {"actor": "nobody"})) == []
    assert _objects(api.get(URL, {"system": "true"})) == ["SEV4"]
    assert _objects(api.get(URL, {"since": "2026-03-02T00:00:00+01:00"})) == ["SEV4"]
    assert _objects(api.get(URL, {"until": "2026-03-02T00:00:00Z"})) == ["checkout"]
    assert _objects(api.get(URL, {"actor": "", "type": ""})) == ["SEV4", "checkout"]


def test_instants_past_what_utc_can_hold_find_nothing_or_everything(manager, history):
    api = api_for(manager)

    assert _objects(api.get(URL, {"since": "9999-12-31T23:00:00-05:00"})) == []
    assert _objects(api.get(URL, {"until": "0001-01-01T00:30:00+01:00"})) == []
    assert _objects(api.get(URL, {"since": "0001-01-01T00:30:00+01:00"})) == ["SEV4", "checkout"]


@pytest.mark.parametrize(
    "params",
    [
        {"type": "accounts.nothing"},
        {"since": "2026-03-02T00:00:00"},  # no offset: whose midnight?
        {"since": "yesterday"},
        {"until": ""},
        {"system": ""},
        {"system": "perhaps"},
        {"actor": "a\x00b"},
    ],
)
def test_bad_filters_are_400_naming_the_parameter(manager, params):
    response = api_for(manager).get(URL, params)

    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == set(params)


def test_a_page_past_the_last_is_404(manager):
    assert api_for(manager).get(URL, {"page": "9"}).status_code == 404


def test_a_page_costs_the_same_queries_however_many_entries(manager, django_assert_max_num_queries):
    for number in range(60):
        Service.objects.create(name=f"service-{number:02d}", slug=f"service-{number:02d}")
    api = api_for(manager)
    api.get(URL)

    with django_assert_max_num_queries(6):
        response = api.get(URL)

    assert len(response.json()["results"]) == 50


def test_an_entry_of_another_action_reads_as_other(admin_user):
    service = ServiceFactory(name="checkout", team=None)
    LogEntry.objects.log_create(service, action=LogEntry.Action.ACCESS, force_log=True)

    response = api_for(admin_user).get(URL, {"type": "incidents.service"})

    assert response.status_code == 200, response.content
    assert [entry["action"] for entry in response.json()["results"]] == ["other", "create"]


def test_the_schema_names_its_enums_for_the_audit_trail(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = response.json()["components"]["schemas"]

    entry = components["AuditEntry"]["properties"]
    assert entry["action"]["allOf"][0]["$ref"].endswith("/AuditActionEnum")
    assert entry["object_type"]["allOf"][0]["$ref"].endswith("/AuditObjectTypeEnum")
    assert components["AuditActionEnum"]["enum"] == ["create", "delete", "other", "update"]
    assert "ActionEnum" not in components
