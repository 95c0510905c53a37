"""Boxes other apps add to the incident list and a team's page (incidents.boxes): incidents
renders what is registered and knows nothing of what that is."""

import pytest
from django.test import RequestFactory

from incidents import boxes
from tests.factories import TeamFactory


@pytest.fixture
def no_boxes(monkeypatch):
    monkeypatch.setattr(boxes, "_list_boxes", {})
    monkeypatch.setattr(boxes, "_team_boxes", {})


def test_the_pages_stand_without_any_box(client, viewer, no_boxes):
    team = TeamFactory(name="Payments", slug="payments")
    client.force_login(viewer)

    listed = client.get("/")
    team_page = client.get(f"/teams/{team.slug}/")

    assert listed.status_code == team_page.status_code == 200
    assert "On call now" not in listed.content.decode()
    assert "On call now" not in team_page.content.decode()


def test_a_box_with_nothing_to_show_is_left_out_and_a_team_box_is_given_the_team(
    db, viewer, no_boxes
):
    team = TeamFactory(name="Payments", slug="payments")
    asked = []
    request = RequestFactory().get("/")
    request.user = viewer

    def nothing(team_asked, request):
        asked.append(team_asked)

    boxes.register_team_box("no/such/template.html", nothing)
    boxes.register_list_box("no/such/template.html", lambda request: None)

    assert boxes.render_team_boxes(team=team, request=request) == []
    assert boxes.render_list_boxes(request=request) == []
    assert asked == [team]
