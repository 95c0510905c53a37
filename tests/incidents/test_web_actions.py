"""Each action on the incident page: a plain POST redirects back, an htmx POST gets the panel."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import (
    ChecklistItem,
    EventKind,
    Incident,
    RoleKind,
    Status,
    StatusUpdate,
    TimelineEvent,
)
from incidents.timeline import timeline_event_set_highlight
from tests.factories import UserFactory, declare, severity
from tests.incidents.api_support import written_rows

HTMX = {"HX-Request": "true"}


@pytest.fixture
def incident(responder):
    return declare(responder, title="Checkout is failing")


def act(
    client: Client,
    name: str,
    incident: Incident,
    data: dict[str, Any] | None = None,
    *,
    htmx: bool = False,
    **kwargs: int,
) -> Any:
    url = reverse(f"incidents:{name}", kwargs={"number": incident.number, **kwargs})
    return client.post(url, data or {}, headers=HTMX if htmx else None)


def is_panel(response: Any) -> bool:
    content = response.content.decode()
    return content.lstrip().startswith('<div id="incident-panel"') and "<html" not in content


def test_acknowledge_redirects_back_to_the_incident(signed_in, incident):
    response = act(signed_in, "acknowledge", incident)

    incident.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.status == Status.ACKNOWLEDGED


def test_acknowledge_with_htmx_returns_the_updated_panel(signed_in, incident):
    response = act(signed_in, "acknowledge", incident, htmx=True)

    assert response.status_code == 200
    assert is_panel(response)
    assert 'class="status status--acknowledged"' in response.content.decode()
    assert 'id="action-acknowledge"' not in response.content.decode()


def test_acknowledging_twice_with_htmx_shows_the_panel_and_writes_nothing(
    signed_in, incident, responder
):
    services.incident_acknowledge(incident=incident, actor=responder)
    before = written_rows()

    response = act(signed_in, "acknowledge", incident, htmx=True)

    assert response.status_code == 200
    assert is_panel(response)
    assert 'class="status status--acknowledged"' in response.content.decode()
    assert written_rows() == before


def test_acknowledging_twice_without_htmx_redirects_back_without_an_error(
    signed_in, incident, responder
):
    services.incident_acknowledge(incident=incident, actor=responder)
    before = written_rows()

    response = act(signed_in, "acknowledge", incident)
    page = signed_in.get(response["Location"])

    assert response.status_code == 302
    assert "cannot move" not in page.content.decode()
    assert written_rows() == before


def test_action_views_refuse_get(signed_in, incident):
    url = reverse("incidents:acknowledge", args=[incident.number])

    assert signed_in.get(url).status_code == 405


def test_action_views_ask_anonymous_visitors_to_sign_in(client, incident):
    response = act(client, "acknowledge", incident)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_move_to_a_later_status(signed_in, incident):
    response = act(signed_in, "status", incident, {"status": "identified"})

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.status == Status.IDENTIFIED
    assert incident.identified_at is not None


def test_move_to_a_later_status_with_htmx(signed_in, incident):
    response = act(signed_in, "status", incident, {"status": "investigating"}, htmx=True)

    assert response.status_code == 200
    assert is_panel(response)
    assert "changed status from detected to investigating" in response.content.decode()


def test_move_back_when_the_incident_relapses(signed_in, incident, responder):
    services.incident_set_status(incident=incident, actor=responder, status="monitoring")

    response = act(signed_in, "status", incident, {"status": "investigating"}, htmx=True)

    incident.refresh_from_db()
    assert response.status_code == 200
    assert is_panel(response)
    assert incident.status == Status.INVESTIGATING
    assert (
        f"moved INC-{incident.number} back from monitoring to investigating"
        in response.content.decode()
    )


def test_moving_back_to_acknowledged_is_refused_with_409_and_changes_nothing(
    signed_in, incident, responder
):
    services.incident_set_status(incident=incident, actor=responder, status="monitoring")

    response = act(signed_in, "status", incident, {"status": "acknowledged"}, htmx=True)

    incident.refresh_from_db()
    assert response.status_code == 409
    assert "cannot move from monitoring to acknowledged" in response.content.decode()
    assert incident.status == Status.MONITORING


def test_an_unknown_status_is_a_form_error(signed_in, incident):
    response = act(signed_in, "status", incident, {"status": "exploded"}, htmx=True)

    assert response.status_code == 400
    assert is_panel(response)
    assert "Select a valid choice" in response.content.decode()


def test_change_severity(signed_in, incident):
    response = act(signed_in, "severity", incident, {"severity": severity("SEV1").pk})

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.severity.name == "SEV1"


def test_change_severity_with_htmx(signed_in, incident):
    response = act(signed_in, "severity", incident, {"severity": severity("SEV1").pk}, htmx=True)

    assert response.status_code == 200
    assert "raised severity from SEV2 to SEV1" in response.content.decode()


def test_setting_the_same_severity_changes_nothing(signed_in, incident):
    before = written_rows()

    response = act(signed_in, "severity", incident, {"severity": severity("SEV2").pk}, htmx=True)

    assert response.status_code == 200
    assert is_panel(response)
    assert written_rows() == before


def test_assign_a_role(signed_in, incident, commander):
    response = act(signed_in, "role", incident, {"role": "technical_lead", "user": commander.pk})

    assert response.status_code == 302
    assert incident.roles.get().user == commander


def test_assign_a_role_with_htmx_lists_the_new_holder(signed_in, incident, commander):
    response = act(
        signed_in, "role", incident, {"role": "commander", "user": commander.pk}, htmx=True
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "<dd>Cole Commander</dd>" in content
    assert "Assess severity and impact" in content


def test_giving_someone_a_role_they_hold_is_refused_with_409(signed_in, incident, commander):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.SCRIBE, user=commander
    )
    before = written_rows()

    response = act(signed_in, "role", incident, {"role": "scribe", "user": commander.pk}, htmx=True)

    assert response.status_code == 409
    assert is_panel(response)
    assert "Cole Commander is already scribe." in response.content.decode()
    assert written_rows() == before


def test_giving_someone_a_role_they_hold_without_htmx_shows_the_message_after_redirect(
    signed_in, incident, commander
):
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.SCRIBE, user=commander
    )

    response = act(signed_in, "role", incident, {"role": "scribe", "user": commander.pk})
    page = signed_in.get(response["Location"])

    assert response.status_code == 302
    assert "Cole Commander is already scribe." in page.content.decode()


def test_a_viewer_cannot_be_given_a_role(signed_in, incident, viewer):
    response = act(signed_in, "role", incident, {"role": "scribe", "user": viewer.pk}, htmx=True)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not incident.roles.exists()


def test_role_picker_offers_only_active_people_who_can_respond(signed_in, incident, viewer):
    UserFactory(username="gone", first_name="Gone", last_name="Away", is_active=False)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert ">Rosa Responder</option>" in content
    assert "Vic Viewer" not in content
    assert "Gone Away" not in content


def test_role_picker_names_people_by_display_name_not_username(signed_in, incident):
    UserFactory(username="kim42", first_name="Kim", last_name="Lee")

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert ">Kim Lee</option>" in content
    assert ">kim42</option>" not in content


def test_add_a_note(signed_in, incident):
    response = act(signed_in, "note", incident, {"text": "Looking at the logs"})

    assert response.status_code == 302
    assert incident.timeline.filter(kind=EventKind.NOTE, message="Looking at the logs").exists()


def test_add_a_note_with_htmx_shows_it_in_the_timeline(signed_in, incident):
    response = act(signed_in, "note", incident, {"text": "Looking at the logs"}, htmx=True)

    assert response.status_code == 200
    assert '<p class="event__message">Looking at the logs</p>' in response.content.decode()


def test_an_empty_note_is_a_form_error_and_writes_nothing(signed_in, incident):
    before = incident.timeline.count()

    response = act(signed_in, "note", incident, {"text": "  "}, htmx=True)

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert incident.timeline.count() == before


def test_an_empty_note_without_htmx_rerenders_the_page_with_the_error(signed_in, incident):
    response = act(signed_in, "note", incident, {"text": ""})

    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert "This field is required." in response.content.decode()


def test_post_an_internal_status_update(signed_in, incident):
    response = act(
        signed_in, "update", incident, {"message": "Rolling back", "audience": "internal"}
    )

    update = StatusUpdate.objects.get()
    assert response.status_code == 302
    assert (update.message, update.public) == ("Rolling back", False)


PUBLIC_UPDATE = {"message": "We are on it", "audience": "public"}


def test_a_public_status_update_is_confirmed_first_with_htmx(signed_in, incident):
    response = act(signed_in, "update", incident, PUBLIC_UPDATE, htmx=True)

    content = response.content.decode()
    assert response.status_code == 200
    assert is_panel(response)
    assert not StatusUpdate.objects.exists()
    assert 'role="alertdialog"' in content
    assert "Customers will see it on the status page" in content
    assert "<blockquote>We are on it</blockquote>" in content
    assert 'name="confirm_public" value="on" id="update-confirm-submit"' in content
    # The form keeps what was typed, so the confirmation posts it again.
    assert "We are on it</textarea>" in content
    assert 'value="public" id="update-audience_1" required checked' in content


def test_a_public_status_update_is_confirmed_first_without_javascript(signed_in, incident):
    response = act(signed_in, "update", incident, PUBLIC_UPDATE)

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "Post this update publicly?" in response.content.decode()
    assert not StatusUpdate.objects.exists()


def test_post_a_confirmed_public_status_update_with_htmx(signed_in, incident):
    response = act(
        signed_in, "update", incident, {**PUBLIC_UPDATE, "confirm_public": "on"}, htmx=True
    )

    assert response.status_code == 200
    assert StatusUpdate.objects.get().public is True
    assert "posted a public update: We are on it" in response.content.decode()
    assert 'id="update-confirm"' not in response.content.decode()


def test_an_internal_status_update_asks_nothing(signed_in, incident):
    response = act(
        signed_in,
        "update",
        incident,
        {"message": "Rolling back", "audience": "internal"},
        htmx=True,
    )

    assert response.status_code == 200
    assert 'id="update-confirm"' not in response.content.decode()
    assert StatusUpdate.objects.get().public is False


def test_a_public_status_update_on_a_private_incident_is_a_form_error(signed_in, responder):
    private = declare(responder, private=True)

    response = act(
        signed_in, "update", private, {"message": "We are on it", "audience": "public"}, htmx=True
    )

    assert response.status_code == 400
    assert "cannot have public status updates" in response.content.decode()
    assert not StatusUpdate.objects.exists()


def test_resolve_with_a_note(signed_in, incident):
    response = act(signed_in, "resolve", incident, {"resolution": "Rolled back the deploy"})

    incident.refresh_from_db()
    assert response.status_code == 302
    assert incident.status == Status.RESOLVED
    assert incident.resolution == "Rolled back the deploy"


def test_resolve_with_htmx_offers_reopen(signed_in, incident):
    response = act(signed_in, "resolve", incident, {"resolution": "Rolled back"}, htmx=True)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="status status--resolved"' in content
    assert 'id="action-reopen"' in content


def test_resolve_needs_a_resolution_note_and_writes_nothing_without_one(signed_in, incident):
    response = act(signed_in, "resolve", incident, {"resolution": ""}, htmx=True)

    incident.refresh_from_db()
    assert response.status_code == 400
    assert incident.status == Status.DETECTED
    # The disclosure holding the form stays open, so the error is visible.
    assert '<details class="action" open>' in response.content.decode()


def test_a_failed_form_marks_its_bad_field_and_points_it_at_the_error(signed_in, incident):
    response = act(signed_in, "resolve", incident, {"resolution": ""}, htmx=True)

    content = response.content.decode()
    field = re.search(r'<textarea[^>]*id="resolve-resolution"[^>]*>', content)
    assert field is not None
    assert 'aria-invalid="true"' in field.group()
    # keys.js focuses the aria-invalid field; a screen reader reads the error with it.
    described_by = re.search(r'aria-describedby="([^"]+)"', field.group())
    assert described_by is not None
    error_id = described_by.group(1).split()[-1]
    error = re.search(rf'<div id="{error_id}">(.*?)</div>', content, re.S)
    assert error is not None
    assert "This field is required." in error.group(1)


def test_reopen_a_resolved_incident(signed_in, incident, responder):
    services.incident_resolve(incident=incident, actor=responder, resolution="fixed")

    response = act(signed_in, "reopen", incident, {"reason": "It is back"}, htmx=True)

    incident.refresh_from_db()
    assert response.status_code == 200
    assert incident.status == Status.INVESTIGATING
    assert "reopened" in response.content.decode()


def test_reopening_an_open_incident_is_refused_with_409(signed_in, incident):
    response = act(signed_in, "reopen", incident, {"reason": ""}, htmx=True)

    assert response.status_code == 409
    assert "is not resolved" in response.content.decode()


def test_tick_a_checklist_item(signed_in, incident, responder):
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
    )
    item = incident.checklist.get(position=1)

    response = act(signed_in, "checklist-item", incident, {"done": "1"}, item_id=item.pk)

    item.refresh_from_db()
    assert response.status_code == 302
    assert item.done_at is not None
    assert item.done_by == responder


def test_a_ticked_checklist_item_says_when_with_its_zone(signed_in, incident, responder):
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
    )
    item = incident.checklist.get(position=1)
    act(signed_in, "checklist-item", incident, {"done": "1"}, item_id=item.pk)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    done = re.search(r'class="checklist__done-by[^>]*>[^<]*<time [^>]*>([^<]+)</time>', content)
    assert done is not None and done[1].endswith(" UTC")


def test_untick_a_checklist_item_with_htmx(signed_in, incident, responder):
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
    )
    item = incident.checklist.get(position=1)
    services.checklist_item_set_done(item=item, actor=responder, done=True)

    response = act(signed_in, "checklist-item", incident, {}, htmx=True, item_id=item.pk)

    item.refresh_from_db()
    assert response.status_code == 200
    assert item.done_at is None
    assert f'id="check-{item.pk}">' in response.content.decode()


def test_checklist_item_of_another_incident_is_not_found(signed_in, incident, responder):
    other = declare(responder, commander=responder)
    item = other.checklist.get(position=1)

    response = act(signed_in, "checklist-item", incident, {"done": "1"}, item_id=item.pk)

    assert response.status_code == 404


def test_highlight_a_timeline_entry(signed_in, incident):
    event = incident.timeline.get()

    response = act(signed_in, "highlight", incident, {"highlighted": "true"}, event_id=event.pk)

    event.refresh_from_db()
    assert response.status_code == 302
    assert event.highlighted is True


def test_unhighlight_a_timeline_entry_with_htmx(signed_in, incident, responder):
    event = incident.timeline.get()
    timeline_event_set_highlight(event=event, actor=responder, highlighted=True)

    response = act(
        signed_in, "highlight", incident, {"highlighted": "false"}, htmx=True, event_id=event.pk
    )

    event.refresh_from_db()
    assert response.status_code == 200
    assert event.highlighted is False
    assert 'aria-pressed="false"' in response.content.decode()


def test_timeline_entry_of_another_incident_is_not_found(signed_in, incident, responder):
    other_event = declare(responder).timeline.get()

    response = act(
        signed_in, "highlight", incident, {"highlighted": "true"}, event_id=other_event.pk
    )

    assert response.status_code == 404
    assert TimelineEvent.objects.filter(highlighted=True).count() == 0


def test_viewer_actions_are_forbidden(client, incident, viewer):
    client.force_login(viewer)
    before = incident.timeline.count()

    response = act(client, "note", incident, {"text": "I was here"})

    assert response.status_code == 403
    assert incident.timeline.count() == before


def test_viewer_actions_with_htmx_are_forbidden_with_a_message_in_the_panel(
    client, incident, viewer
):
    client.force_login(viewer)

    response = act(client, "acknowledge", incident, htmx=True)

    incident.refresh_from_db()
    assert response.status_code == 403
    assert is_panel(response)
    assert "You may not respond" in response.content.decode()
    assert incident.status == Status.DETECTED


def test_actions_on_a_private_incident_are_not_found_for_outsiders(client, responder, outsider):
    private = declare(responder, private=True)
    client.force_login(outsider)

    response = act(client, "acknowledge", private)

    private.refresh_from_db()
    assert response.status_code == 404
    assert private.status == Status.DETECTED


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("action", ["note", "checklist-item", "highlight", "role"])
def test_an_outsider_posting_to_a_private_incident_gets_404_and_writes_nothing(
    client, responder, commander, outsider, action, htmx
):
    private = declare(responder, private=True, commander=commander)
    kwargs: dict[str, int] = {}
    data: dict[str, Any] = {}
    if action == "note":
        data = {"text": "peek"}
    elif action == "checklist-item":
        kwargs["item_id"] = private.checklist.get(position=1).pk
        data = {"done": "1"}
    elif action == "highlight":
        kwargs["event_id"] = private.timeline.earliest("occurred_at", "id").pk
        data = {"highlighted": "true"}
    else:
        data = {"role": "subject_expert", "user": outsider.pk}
    client.force_login(outsider)
    before = written_rows()

    response = act(client, action, private, data, htmx=htmx, **kwargs)

    assert response.status_code == 404
    assert written_rows() == before
    assert not TimelineEvent.objects.filter(highlighted=True).exists()
    assert not ChecklistItem.objects.filter(done_at__isnull=False).exists()


def test_a_page_answering_a_post_asks_the_time_zone_script_not_to_reload(signed_in, incident):
    response = act(signed_in, "note", incident, {"text": ""})

    assert '<html lang="en" data-tz="UTC" data-no-reload>' in response.content.decode()
