"""Shared by the REST API tests: clients that sign in with real tokens, problem assertions."""

from typing import Any

from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import api_token_create
from incidents.models import ChecklistItem, Incident, RoleAssignment, StatusUpdate, TimelineEvent

API = "/api/v1"


class JsonClient(APIClient):
    default_format = "json"


def api_client(user: User | None = None) -> JsonClient:
    """A client sending JSON, authenticated with a token made for `user` (anonymous if None)."""
    client = JsonClient()
    if user is not None:
        _, key = api_token_create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def incident_url(incident: Incident, action: str = "") -> str:
    return f"{API}/incidents/{incident.number}/" + (f"{action}/" if action else "")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is RFC 9457 problem details with `status`; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert body["instance"] == response.wsgi_request.path
    return body


def written_rows() -> dict[str, Any]:
    """What an incident write may touch, to prove nothing was written: every incident row with
    all its fields (so an edit shows, not only a new row) and the counts of its relations."""
    return {
        "incidents": list(Incident.objects.order_by("pk").values()),
        "timeline": TimelineEvent.objects.count(),
        "participants": Incident.participants.through.objects.count(),
        "roles": RoleAssignment.objects.count(),
        "checklist": ChecklistItem.objects.count(),
        "updates": StatusUpdate.objects.count(),
    }
