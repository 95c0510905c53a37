"""Drills: declared as such on the form or through the API, marked later by the commander, a
manager or an admin, tagged wherever the incident shows. The reports leave them out."""

import re
from typing import Any

from django.urls import reverse

from incidents import services
from incidents.models import EventKind, Incident
from tests.factories import declare, severity
from tests.incidents.api_support import API, api_client, assert_problem, incident_url, written_rows

DECLARE = reverse("incidents:declare")


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {"title": "Game day: fail over the database", "severity": severity("SEV2").pk}
    data.update(overrides)
    return data


def test_the_declare_form_offers_to_mark_a_drill(signed_in):
    content = signed_in.get(DECLARE).content.decode()

    assert re.search(r'<input type="checkbox" name="drill"[^>]* id="id_drill">', content)
    assert '<label for="id_drill">This is a drill (left out of reports)</label>' in content


def test_declaring_with_the_drill_box_ticked_declares_a_drill(signed_in):
    response = signed_in.post(DECLARE, form_data(drill="on"))

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert incident.drill is True


def test_the_declaration_on_the_timeline_says_it_is_a_drill(signed_in):
    signed_in.post(DECLARE, form_data(drill="on"))

    declared = Incident.objects.get().timeline.get(kind=EventKind.DECLARED)
    assert declared.message == (
        "Rosa Responder declared INC-1 as SEV2 (a drill): Game day: fail over the database"
    )
    assert declared.data["drill"] is True


def test_declaring_without_the_box_is_no_drill(signed_in):
    signed_in.post(DECLARE, form_data())

    incident = Incident.objects.get()
    assert incident.drill is False
    declared = incident.timeline.get(kind=EventKind.DECLARED)
    assert "drill" not in declared.message
    assert declared.data["drill"] is False


def test_the_api_declares_a_drill(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Game day", "severity": "SEV3", "drill": True}
    )

    assert response.status_code == 201, response.content
    assert response.json()["drill"] is True
    assert Incident.objects.get().drill is True


def test_the_api_says_an_incident_is_no_drill(responder):
    incident = declare(responder)

    body = api_client(responder).get(incident_url(incident)).json()

    assert body["drill"] is False


def test_a_drill_that_is_not_a_boolean_is_problem_400(responder):
    response = api_client(responder).post(
        f"{API}/incidents/", {"title": "Game day", "severity": "SEV3", "drill": "yes"}
    )

    assert assert_problem(response, 400)["errors"]["drill"] == ["Must be a JSON boolean."]
    assert not Incident.objects.exists()


def test_the_commander_marks_an_incident_as_a_drill_on_the_timeline(commander):
    incident = declare(commander, commander=commander)

    response = api_client(commander).patch(incident_url(incident), {"drill": True})

    assert response.status_code == 200, response.content
    assert response.json()["drill"] is True
    edit = incident.timeline.filter(kind=EventKind.EDITED).get()
    assert edit.message == "Cole Commander marked the incident as a drill"
    assert edit.data == {"fields": ["drill"]}


def test_a_manager_marks_a_drill_as_not_a_drill(commander, manager):
    incident = declare(commander, commander=commander, drill=True)

    response = api_client(manager).patch(incident_url(incident), {"drill": False})

    assert response.status_code == 200, response.content
    incident.refresh_from_db()
    assert incident.drill is False
    edit = incident.timeline.filter(kind=EventKind.EDITED).get()
    assert edit.message == "Mona Manager marked the incident as not a drill"


def test_a_responder_who_is_not_commander_cannot_mark_a_drill(responder, commander):
    # Marking a drill takes the incident out of the month's figures: not any responder's call.
    incident = declare(commander, commander=commander)
    before = written_rows()

    response = api_client(responder).patch(incident_url(incident), {"drill": True})

    assert "commander, a manager or an admin" in assert_problem(response, 403)["detail"]
    assert written_rows() == before


def test_repeating_the_drill_flag_is_no_change(responder):
    incident = declare(responder, drill=True)
    before = written_rows()

    services.incident_update_details(incident=incident, actor=responder, drill=True)

    assert written_rows() == before


def test_the_incident_page_tags_a_drill(signed_in, responder):
    incident = declare(responder, drill=True)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    head = content.split('<header class="incident__head">', 1)[1].split("</header>", 1)[0]
    assert re.search(r'<span class="tag tag--drill"[^>]*>Drill</span>', head)


def test_the_incident_page_of_a_real_incident_has_no_drill_tag(signed_in, responder):
    incident = declare(responder)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert "tag--drill" not in content


def test_the_incident_list_tags_drills_only(signed_in, responder):
    declare(responder, title="Game day: fail over the database", drill=True)
    declare(responder, title="Checkout is failing")

    content = signed_in.get(reverse("incidents:list")).content.decode()

    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", content, flags=re.S)
    tagged = {
        re.search(r'tabindex="-1">([^<]+)</a>', row)[1]: "tag--drill" in row  # type: ignore[index]
        for row in rows
    }
    assert tagged == {"Game day: fail over the database": True, "Checkout is failing": False}
