"""The incident actions under /api/v1/incidents/{n}/… and the timeline."""

import pytest

from incidents import services
from incidents.models import EventKind, RoleKind, Source, Status, StatusUpdate
from tests.factories import declare
from tests.incidents.api_support import api_client, incident_url


def test_acknowledge_acknowledges_the_incident(responder):
    incident = declare(responder)

    response = api_client(responder).post(incident_url(incident, "acknowledge"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == Status.ACKNOWLEDGED
    assert body["acknowledged_at"] is not None
    event = incident.timeline.get(kind=EventKind.ACKNOWLEDGED)
    assert (event.actor, event.source) == (responder, Source.API)


def test_status_moves_the_incident_and_records_the_message(responder):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "status"), {"status": "identified", "message": "bad deploy"}
    )

    assert response.status_code == 200
    assert response.json()["status"] == Status.IDENTIFIED
    assert response.json()["identified_at"] is not None
    event = incident.timeline.get(kind=EventKind.STATUS_CHANGED)
    assert event.message.endswith(": bad deploy")
    assert event.source == Source.API


def test_status_moves_the_incident_back_when_it_relapses(responder):
    incident = declare(responder)
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    response = api_client(responder).post(
        incident_url(incident, "status"), {"status": "investigating", "message": "errors again"}
    )

    assert response.status_code == 200
    assert response.json()["status"] == Status.INVESTIGATING
    assert response.json()["mitigated_at"] is not None
    event = incident.timeline.filter(kind=EventKind.STATUS_CHANGED).latest("id")
    assert event.data == {"from": Status.MONITORING, "to": Status.INVESTIGATING}
    assert event.source == Source.API


def test_status_resolved_resolves_with_the_message_as_resolution(responder):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "status"), {"status": "resolved", "message": "rolled back"}
    )

    assert response.json()["status"] == Status.RESOLVED
    assert response.json()["resolution"] == "rolled back"


def test_severity_changes_the_severity(responder):
    incident = declare(responder)

    response = api_client(responder).post(incident_url(incident, "severity"), {"severity": "SEV1"})

    assert response.status_code == 200
    assert response.json()["severity"] == "SEV1"
    event = incident.timeline.get(kind=EventKind.SEVERITY_CHANGED)
    assert event.source == Source.API


def test_roles_assigns_a_role(responder, commander):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "roles"), {"role": "technical_lead", "user": "cole"}
    )

    assert response.status_code == 200
    assert response.json()["roles"] == [{"role": RoleKind.TECHNICAL_LEAD, "user": "cole"}]
    assert incident.participants.filter(pk=commander.pk).exists()


def test_roles_commander_becomes_the_incident_commander(responder, commander):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "roles"), {"role": "commander", "user": "cole"}
    )

    assert response.json()["commander"] == "cole"


def test_roles_replaces_the_holder_of_a_single_holder_role(responder, commander):
    incident = declare(responder, commander=commander)

    response = api_client(responder).post(
        incident_url(incident, "roles"), {"role": "commander", "user": "rosa"}
    )

    assert response.json()["commander"] == "rosa"
    assert response.json()["roles"] == [{"role": RoleKind.COMMANDER, "user": "rosa"}]


def test_notes_adds_a_note_and_answers_201_with_it(responder):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "notes"), {"text": "  Restarted the pods.  "}
    )

    assert response.status_code == 201
    body = response.json()
    note = incident.timeline.get(kind=EventKind.NOTE)
    assert body["id"] == note.pk
    assert body["kind"] == EventKind.NOTE
    assert body["message"] == "Restarted the pods."
    assert body["actor"] == "rosa"
    assert body["source"] == Source.API


def test_updates_posts_a_status_update_and_answers_201_with_it(responder):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "updates"), {"message": "We are on it.", "public": True}
    )

    assert response.status_code == 201
    update = StatusUpdate.objects.get(incident=incident)
    assert update.public is True
    assert response.json() == {
        "id": update.pk,
        "message": "We are on it.",
        "public": True,
        "status": Status.DETECTED,
        "posted_at": response.json()["posted_at"],
        "author": "rosa",
    }


def test_updates_are_internal_unless_said_public(responder):
    incident = declare(responder)

    api_client(responder).post(incident_url(incident, "updates"), {"message": "Digging."})

    assert StatusUpdate.objects.get(incident=incident).public is False


def test_resolve_resolves_with_the_resolution(responder):
    incident = declare(responder)

    response = api_client(responder).post(
        incident_url(incident, "resolve"), {"resolution": "Rolled back the deploy."}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == Status.RESOLVED
    assert body["resolved_at"] is not None
    assert body["resolution"] == "Rolled back the deploy."
    assert incident.timeline.get(kind=EventKind.RESOLVED).source == Source.API


def test_resolve_without_a_resolution_is_allowed(responder):
    incident = declare(responder)

    response = api_client(responder).post(incident_url(incident, "resolve"))

    assert response.json()["status"] == Status.RESOLVED


def test_reopen_takes_a_resolved_incident_back_to_investigating(responder):
    incident = declare(responder)
    services.incident_resolve(incident=incident, actor=responder)

    response = api_client(responder).post(
        incident_url(incident, "reopen"), {"reason": "It is back."}
    )

    assert response.status_code == 200
    assert response.json()["status"] == Status.INVESTIGATING
    assert incident.timeline.get(kind=EventKind.REOPENED).message.endswith(": It is back.")


def test_timeline_lists_events_oldest_first(responder):
    incident = declare(responder)
    services.incident_add_note(incident=incident, actor=responder, text="first note")
    services.incident_acknowledge(incident=incident, actor=responder)

    response = api_client(responder).get(incident_url(incident, "timeline"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["kind"] for row in rows] == [
        EventKind.DECLARED,
        EventKind.NOTE,
        EventKind.ACKNOWLEDGED,
    ]
    assert set(rows[0]) == {
        "id",
        "kind",
        "occurred_at",
        "actor",
        "source",
        "message",
        "data",
        "highlighted",
    }
    assert rows[1]["actor"] == "rosa"


def test_timeline_pages_fifty_events_at_a_time(responder):
    incident = declare(responder)
    for n in range(50):
        services.incident_add_note(incident=incident, actor=responder, text=f"note {n}")
    client = api_client(responder)

    first = client.get(incident_url(incident, "timeline")).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert [row["message"] for row in second["results"]] == ["note 49"]


@pytest.mark.parametrize("notes", [5, 40])
def test_timeline_query_count_does_not_grow_with_rows(
    notes, responder, django_assert_max_num_queries
):
    incident = declare(responder)
    for n in range(notes):
        services.incident_add_note(incident=incident, actor=responder, text=f"note {n}")
    client = api_client(responder)

    # Token lookup and stamp, the visible incident with its services and roles, count, page.
    with django_assert_max_num_queries(7):
        response = client.get(incident_url(incident, "timeline"))

    assert len(response.json()["results"]) == notes + 1
