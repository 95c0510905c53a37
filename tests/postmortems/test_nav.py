"""How people find postmortems and action items: the main menu's "Postmortems" and "Action
items" after "Teams", marked on their pages, and the templates reached from the postmortem
list by admins."""

import re

import pytest
from django.urls import reverse

from postmortems.services.action_items import action_item_create
from tests.incidents.test_web_nav import current_sections
from tests.postmortems.workflow_support import draft

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>')


def menu(client, url: str) -> list[tuple[str, str]]:
    """The main menu's links as (text, address), in order."""
    response = client.get(url)
    assert response.status_code == 200
    nav = response.content.decode().split('<nav class="site-nav"')[1].split("</nav>")[0]
    return [(text, href) for href, text in LINK.findall(nav)]


def page_head(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().split('<div class="page-head">')[1].split("</div>")[0]


def test_everyone_signed_in_finds_postmortems_and_action_items_after_teams(client, viewer):
    client.force_login(viewer)

    links = menu(client, reverse("incidents:list"))

    texts = [text for text, _ in links]
    teams = texts.index("Teams")
    assert links[teams + 1 : teams + 3] == [
        ("Postmortems", reverse("postmortems:list")),
        ("Action items", reverse("postmortems:my_action_items")),
    ]


def test_a_postmortem_and_its_history_belong_to_postmortems(client, commander):
    postmortem = draft(commander)
    client.force_login(commander)
    number = postmortem.incident.number

    for url in (
        postmortem.get_absolute_url(),
        reverse("postmortems:revisions", args=[number]),
        reverse("postmortems:revision", args=[number, 0]),
    ):
        assert current_sections(client, url) == [reverse("postmortems:list")], url


def test_an_action_item_belongs_to_action_items(client, commander):
    incident = draft(commander).incident
    item = action_item_create(incident=incident, actor=commander, title="Alert on error rate")
    client.force_login(commander)

    assert current_sections(client, item.get_absolute_url()) == [
        reverse("postmortems:my_action_items")
    ]


def test_admins_find_the_templates_on_the_postmortem_list(client, admin_user):
    client.force_login(admin_user)

    head = page_head(client, reverse("postmortems:list"))

    assert ("Templates", reverse("postmortems:templates")) in [
        (text, href) for href, text in LINK.findall(head)
    ]


@pytest.mark.parametrize("persona", ["manager", "responder", "viewer"])
def test_only_admins_are_offered_the_templates(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    head = page_head(client, reverse("postmortems:list"))

    assert reverse("postmortems:templates") not in head
    assert "Templates" not in head
