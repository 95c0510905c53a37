import re
from typing import Any

from django.urls import reverse

from incidents.models import EventKind, Incident, RoleKind
from tests.factories import ServiceFactory, TeamFactory, severity

DECLARE = reverse("incidents:declare")


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {"title": "Checkout is failing", "severity": severity("SEV2").pk, "summary": ""}
    data.update(overrides)
    return data


def test_declare_form_shows_each_severity_with_description_and_response_target(signed_in):
    content = signed_in.get(DECLARE).content.decode()

    assert "Critical business impact" in content
    assert "Respond within 15 min" in content
    assert "Respond within 24 h" in content


def test_the_declare_form_focuses_the_title(signed_in):
    content = signed_in.get(DECLARE).content.decode()

    assert re.search(r'<input type="text" name="title"[^>]* autofocus', content)


def test_the_declare_form_preselects_my_only_team(signed_in, responder):
    TeamFactory(name="Search")
    mine = TeamFactory(name="Payments")
    mine.members.add(responder)

    content = signed_in.get(DECLARE).content.decode()

    assert f'<option value="{mine.pk}" selected>Payments</option>' in content


def test_the_declare_form_preselects_no_team_for_someone_in_several(signed_in, responder):
    for name in ("Payments", "Search"):
        TeamFactory(name=name).members.add(responder)

    content = signed_in.get(DECLARE).content.decode()

    assert '<option value="" selected>None</option>' in content


def test_the_declare_form_preselects_no_team_for_someone_in_none(signed_in):
    TeamFactory(name="Payments")

    content = signed_in.get(DECLARE).content.decode()

    assert '<option value="" selected>None</option>' in content


def test_declaring_creates_the_incident_and_opens_its_page(signed_in, responder):
    checkout = ServiceFactory(name="checkout")
    team = TeamFactory(name="Payments")

    response = signed_in.post(
        DECLARE,
        form_data(summary="Card payments fail", services=[checkout.pk], team=team.pk),
    )

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.title == "Checkout is failing"
    assert incident.severity.name == "SEV2"
    assert incident.summary == "Card payments fail"
    assert list(incident.services.all()) == [checkout]
    assert incident.team == team
    assert incident.declared_by == responder
    assert incident.timeline.filter(kind=EventKind.DECLARED).exists()


def test_i_am_the_commander_makes_the_declarer_commander(signed_in, responder):
    signed_in.post(DECLARE, form_data(take_command="on"))

    incident = Incident.objects.get()
    assert incident.commander == responder
    assert incident.roles.get().role == RoleKind.COMMANDER


def test_without_i_am_the_commander_nobody_commands(signed_in):
    signed_in.post(DECLARE, form_data())

    assert Incident.objects.get().commander is None


def test_private_flag_makes_the_incident_private(signed_in):
    signed_in.post(DECLARE, form_data(private="on"))

    assert Incident.objects.get().private is True


def test_a_missing_title_is_shown_inline_and_nothing_is_written(signed_in):
    response = signed_in.post(DECLARE, form_data(title="   "))

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Incident.objects.exists()


def test_an_unknown_severity_is_shown_inline_and_nothing_is_written(signed_in):
    response = signed_in.post(DECLARE, form_data(severity=999_999))

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Incident.objects.exists()


def test_form_errors_keep_what_was_typed(signed_in):
    response = signed_in.post(DECLARE, form_data(severity="", summary="Cards fail"))

    content = response.content.decode()
    assert 'value="Checkout is failing"' in content
    assert "Cards fail</textarea>" in content


def test_viewers_may_not_open_the_declare_form(client, viewer):
    client.force_login(viewer)

    assert client.get(DECLARE).status_code == 403


def test_viewers_may_not_declare(client, viewer):
    client.force_login(viewer)

    response = client.post(DECLARE, form_data())

    assert response.status_code == 403
    assert not Incident.objects.exists()
