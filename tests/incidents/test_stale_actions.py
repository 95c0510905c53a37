"""A change of severity, status or a role made on a stale view is refused, not applied.

Each form carries the value the person saw; the services compare it with the incident's under
its row lock and raise StaleIncident (409) when it moved on meanwhile.
"""

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import EventKind, RoleKind, Status
from incidents.transitions import StaleIncident
from tests.factories import declare, severity
from tests.incidents.api_support import api_client, assert_problem, incident_url

HTMX = {"HX-Request": "true"}


@pytest.fixture
def incident(responder):
    return declare(responder, severity_name="SEV2")


def post(client, name, incident, data, *, htmx=True):
    url = reverse(f"incidents:{name}", kwargs={"number": incident.number})
    return client.post(url, data, headers=HTMX if htmx else None)


def test_severity_change_from_the_severity_seen_is_applied(incident, commander):
    services.incident_set_severity(
        incident=incident,
        actor=commander,
        severity=severity("SEV1"),
        expected_severity=severity("SEV2"),
    )

    incident.refresh_from_db()
    assert incident.severity.name == "SEV1"


def test_severity_change_from_a_severity_no_longer_current_is_refused(incident, commander):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    with pytest.raises(StaleIncident) as refused:
        services.incident_set_severity(
            incident=incident,
            actor=commander,
            severity=severity("SEV3"),
            expected_severity=severity("SEV2"),
        )

    incident.refresh_from_db()
    assert incident.severity.name == "SEV1"
    assert (refused.value.current, refused.value.expected) == ("SEV1", "SEV2")
    assert "now SEV1" in str(refused.value)
    assert incident.timeline.filter(kind=EventKind.SEVERITY_CHANGED).count() == 1


def test_status_move_from_a_status_no_longer_current_is_refused(incident, commander):
    services.incident_set_status(incident=incident, actor=commander, status=Status.INVESTIGATING)

    with pytest.raises(StaleIncident):
        services.incident_set_status(
            incident=incident,
            actor=commander,
            status=Status.MONITORING,
            expected_status=Status.DETECTED,
        )

    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING


def test_resolving_from_a_status_no_longer_current_is_refused(incident, commander):
    services.incident_set_status(incident=incident, actor=commander, status=Status.MONITORING)

    with pytest.raises(StaleIncident):
        services.incident_resolve(
            incident=incident, actor=commander, resolution="x", expected_status=Status.DETECTED
        )

    incident.refresh_from_db()
    assert incident.status == Status.MONITORING


def test_role_assignment_over_a_holder_not_seen_is_refused(incident, responder, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )

    with pytest.raises(StaleIncident) as refused:
        services.incident_assign_role(
            incident=incident,
            actor=responder,
            role=RoleKind.COMMANDER,
            user=responder,
            expected_holder=None,
        )

    incident.refresh_from_db()
    assert incident.commander == commander
    assert refused.value.current == commander.display_name


def test_role_assignment_over_the_holder_seen_is_applied(incident, responder, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )

    services.incident_assign_role(
        incident=incident,
        actor=responder,
        role=RoleKind.COMMANDER,
        user=responder,
        expected_holder=commander,
    )

    incident.refresh_from_db()
    assert incident.commander == responder


def test_subject_experts_are_added_whoever_else_was_added_meanwhile(incident, responder, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.SUBJECT_EXPERT, user=commander
    )

    services.incident_assign_role(
        incident=incident,
        actor=responder,
        role=RoleKind.SUBJECT_EXPERT,
        user=responder,
        expected_holder=None,
    )

    assert incident.roles.filter(role=RoleKind.SUBJECT_EXPERT).count() == 2


def test_the_panel_forms_carry_the_values_shown(signed_in, incident, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert f'name="expected_severity" value="{severity("SEV2").pk}"' in content
    assert 'name="expected_status" value="detected"' in content
    assert f'name="expected_commander" value="{commander.pk}"' in content
    assert 'name="expected_scribe"' in content


def test_a_stale_severity_change_is_refused_with_409_and_a_form_to_retry(
    signed_in, incident, commander
):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    response = post(
        signed_in,
        "severity",
        incident,
        {"severity": severity("SEV3").pk, "expected_severity": severity("SEV2").pk},
    )

    incident.refresh_from_db()
    assert response.status_code == 409
    assert incident.severity.name == "SEV1"
    content = response.content.decode()
    # The severity form opens on the message, keeps the choice and now expects SEV1, so sending
    # it again is a decision taken on what the incident is.
    assert '<details class="action" open>' in content
    assert "is now SEV1, not SEV2 as you saw it" in content
    assert f'name="expected_severity" value="{severity("SEV1").pk}"' in content
    assert f'<option value="{severity("SEV3").pk}" selected>' in content


def test_the_retried_severity_change_is_applied(signed_in, incident, commander):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    response = post(
        signed_in,
        "severity",
        incident,
        {"severity": severity("SEV3").pk, "expected_severity": severity("SEV1").pk},
    )

    incident.refresh_from_db()
    assert response.status_code == 200
    assert incident.severity.name == "SEV3"


def test_a_stale_status_move_is_refused_with_the_current_status(signed_in, incident, commander):
    services.incident_set_status(incident=incident, actor=commander, status=Status.IDENTIFIED)

    response = post(
        signed_in, "status", incident, {"status": "investigating", "expected_status": "detected"}
    )

    incident.refresh_from_db()
    assert response.status_code == 409
    assert incident.status == Status.IDENTIFIED
    assert "status is now Identified, not Detected" in response.content.decode()


def test_a_stale_change_without_htmx_redirects_with_the_message(signed_in, incident, commander):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    response = post(
        signed_in,
        "severity",
        incident,
        {"severity": severity("SEV3").pk, "expected_severity": severity("SEV2").pk},
        htmx=False,
    )

    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "is now SEV1, not SEV2 as you saw it" in page


def test_taking_command_someone_took_meanwhile_is_refused(signed_in, incident, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )
    responder = incident.declared_by

    # The "Take command" button of a page drawn while nobody commanded.
    response = post(
        signed_in,
        "role",
        incident,
        {"role": "commander", "user": responder.pk, "expected_commander": ""},
    )

    incident.refresh_from_db()
    assert response.status_code == 409
    assert incident.commander == commander
    assert "is now Cole Commander, not nobody" in response.content.decode()


def test_a_form_without_expected_values_is_not_checked(signed_in, incident, commander):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    response = post(signed_in, "severity", incident, {"severity": severity("SEV3").pk})

    incident.refresh_from_db()
    assert response.status_code == 200
    assert incident.severity.name == "SEV3"


def test_api_refuses_a_stale_severity_change_with_409_naming_the_current_one(
    incident, responder, commander
):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    response = api_client(responder).post(
        incident_url(incident, "severity"), {"severity": "SEV3", "expected_severity": "SEV2"}
    )

    body = assert_problem(response, 409)
    assert "now SEV1" in body["detail"]
    incident.refresh_from_db()
    assert incident.severity.name == "SEV1"


def test_api_applies_a_change_from_the_current_value(incident, responder):
    response = api_client(responder).post(
        incident_url(incident, "status"),
        {"status": "investigating", "expected_status": "detected"},
    )

    assert response.status_code == 200
    assert response.json()["status"] == Status.INVESTIGATING


def test_api_refuses_a_role_over_a_holder_not_seen(incident, responder, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.SCRIBE, user=commander
    )

    response = api_client(responder).post(
        incident_url(incident, "roles"),
        {"role": "scribe", "user": responder.username, "expected_holder": None},
    )

    assert_problem(response, 409)
    assert incident.roles.get(role=RoleKind.SCRIBE).user == commander


def test_api_patch_refuses_a_stale_status(incident, responder, commander):
    services.incident_set_status(incident=incident, actor=commander, status=Status.IDENTIFIED)

    response = api_client(responder).patch(
        incident_url(incident), {"status": "monitoring", "expected_status": "investigating"}
    )

    assert_problem(response, 409)
    incident.refresh_from_db()
    assert incident.status == Status.IDENTIFIED


def test_an_action_keeps_the_note_being_typed(signed_in, incident, commander):
    services.incident_set_severity(incident=incident, actor=commander, severity=severity("SEV1"))

    refused = post(
        signed_in,
        "severity",
        incident,
        {"severity": severity("SEV3").pk, "expected_severity": severity("SEV2").pk},
    )
    applied = post(signed_in, "status", incident, {"status": "investigating"})

    # htmx keeps the page's composer forms in place of the ones in the answer.
    for response in (refused, applied):
        assert '<div id="composer-note" hx-preserve>' in response.content.decode()
        assert '<div id="composer-update" hx-preserve>' in response.content.decode()


def test_adding_a_note_renders_the_note_afresh_and_keeps_the_update_being_typed(
    signed_in, incident
):
    response = post(signed_in, "note", incident, {"text": "rolled back"})

    assert response.status_code == 200
    assert '<div id="composer-note">' in response.content.decode()
    assert '<div id="composer-update" hx-preserve>' in response.content.decode()


def test_posting_an_update_keeps_the_note_being_typed(signed_in, incident):
    response = post(
        signed_in, "update", incident, {"message": "Rolling back.", "audience": "internal"}
    )

    assert '<div id="composer-note" hx-preserve>' in response.content.decode()
    assert '<div id="composer-update">' in response.content.decode()
