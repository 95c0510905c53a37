"""Who may do what through the API: every persona against every action, public and private.

The private incident is run by the commander; the responder and the manager hold roles in it
and the viewer follows it. The outsider is a responder with no part in it: on the public
incident they may act like anyone else, the private one does not exist for them. The bystander
is a viewer with no part in it: they may read the public incident, and the private one does
not exist for them either.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from accounts.actors import SYSTEM
from accounts.models import Role
from incidents import services
from incidents.models import RoleKind
from tests.factories import UserFactory, declare
from tests.incidents.api_support import API, api_client, incident_url, written_rows

PERSONAS = {
    "viewer": "viewer",
    "responder": "responder",
    "manager": "manager",
    "admin": "admin_user",
    "outsider": "outsider",
    "bystander": "bystander",
}

# What each persona may do with each incident: "act", only "read", or nothing at all ("none").
ACCESS = {
    #             public   private
    "viewer": ("read", "read"),
    "responder": ("act", "act"),
    "manager": ("act", "act"),
    "admin": ("act", "act"),
    "outsider": ("act", "none"),
    "bystander": ("read", "none"),
}


@dataclass(frozen=True)
class Call:
    method: str
    action: str  # "" is the incident itself
    body: dict[str, Any] | None
    ok: int
    writes: bool
    needs_resolved: bool = False


CALLS = {
    "retrieve": Call("get", "", None, 200, writes=False),
    "timeline": Call("get", "timeline", None, 200, writes=False),
    "edit": Call("patch", "", {"title": "Renamed"}, 200, writes=True),
    "acknowledge": Call("post", "acknowledge", None, 200, writes=True),
    "status": Call("post", "status", {"status": "investigating"}, 200, writes=True),
    "severity": Call("post", "severity", {"severity": "SEV1"}, 200, writes=True),
    "roles": Call("post", "roles", {"role": "subject_expert", "user": "cole"}, 200, writes=True),
    "notes": Call("post", "notes", {"text": "Looking."}, 201, writes=True),
    "updates": Call("post", "updates", {"message": "On it.", "public": False}, 201, writes=True),
    "resolve": Call("post", "resolve", {"resolution": "Fixed."}, 200, writes=True),
    "reopen": Call("post", "reopen", {}, 200, writes=True, needs_resolved=True),
}


def _expected(access: str, call: Call) -> int:
    if access == "none":
        return 404
    if access == "read" and call.writes:
        return 403
    return call.ok


@pytest.fixture
def bystander(db):
    return UserFactory(username="bea", first_name="Bea", last_name="Bystander", role=Role.VIEWER)


@pytest.fixture
def incidents(commander, responder, manager, viewer, admin_user):
    public = declare(commander, title="Public outage", commander=commander)
    private = declare(commander, title="Private breach", private=True, commander=commander)
    services.incident_assign_role(
        incident=private, actor=commander, role=RoleKind.TECHNICAL_LEAD, user=responder
    )
    services.incident_assign_role(
        incident=private, actor=commander, role=RoleKind.SCRIBE, user=manager
    )
    # Viewers cannot hold a role; following an incident only makes them a participant.
    private.participants.add(viewer)
    return {"public": public, "private": private}


@pytest.mark.parametrize("call_name", CALLS)
@pytest.mark.parametrize("visibility", ["public", "private"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_incident_action_permissions(request, incidents, persona, visibility, call_name):
    user = request.getfixturevalue(PERSONAS[persona])
    access = ACCESS[persona][visibility == "private"]
    call = CALLS[call_name]
    incident = incidents[visibility]
    if call.needs_resolved:
        services.incident_resolve(incident=incident, actor=SYSTEM)
    before = written_rows()

    response = getattr(api_client(user), call.method)(
        incident_url(incident, call.action), call.body
    )

    expected = _expected(access, call)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
    # An allowed write must really have written, or this test could not tell a refusal that
    # answers 200 from a permission; a refusal and a read write nothing.
    assert (written_rows() != before) == (expected < 400 and call.writes)


@pytest.mark.parametrize("visibility", ["public", "private"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_incident_list_permissions(request, incidents, persona, visibility):
    user = request.getfixturevalue(PERSONAS[persona])
    incident = incidents[visibility]

    response = api_client(user).get(f"{API}/incidents/?q={incident.ref}")

    assert response.status_code == 200
    listed = [row["number"] for row in response.json()["results"]]
    visible = ACCESS[persona][visibility == "private"] != "none"
    assert listed == ([incident.number] if visible else [])


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("viewer", 403),
        ("responder", 201),
        ("manager", 201),
        ("admin", 201),
        ("outsider", 201),
        ("bystander", 403),
    ],
)
@pytest.mark.parametrize("private", [False, True])
def test_declare_permissions(db, request, persona, expected, private):
    user = request.getfixturevalue(PERSONAS[persona])
    before = written_rows()

    response = api_client(user).post(
        f"{API}/incidents/", {"title": "Down", "severity": "SEV2", "private": private}
    )

    assert response.status_code == expected, response.content
    assert (written_rows() == before) == (expected == 403)


@pytest.mark.parametrize("path", ["severities", "services", "teams", "users"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_catalog_permissions(db, request, persona, path):
    user = request.getfixturevalue(PERSONAS[persona])

    assert api_client(user).get(f"{API}/{path}/").status_code == 200
