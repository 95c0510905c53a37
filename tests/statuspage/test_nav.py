"""How signed-in people find the status page: "Status page" in the main menu, to the public page
for everyone, to where they run it for managers, whose page links to the public one."""

import pytest
from django.urls import reverse

from tests.incidents.test_web_nav import current_sections
from tests.postmortems.test_nav import menu, page_head

pytestmark = pytest.mark.django_db


def test_a_responder_finds_the_public_status_page_in_the_menu(client, responder):
    client.force_login(responder)

    links = menu(client, reverse("incidents:list"))

    assert ("Status page", reverse("statuspage:page")) in links


def test_a_manager_finds_where_the_status_page_is_run(client, manager):
    client.force_login(manager)

    links = menu(client, reverse("incidents:list"))

    assert ("Status page", reverse("statuspage:manage")) in links
    assert ("Status page", reverse("statuspage:page")) not in links


def test_the_manage_page_is_marked_in_the_menu_and_links_to_the_public_page(client, manager):
    client.force_login(manager)

    url = reverse("statuspage:manage")
    assert current_sections(client, url) == [url]
    assert f'href="{reverse("statuspage:page")}"' in page_head(client, reverse("statuspage:manage"))
