"""The main menu marks the section the page belongs to, and only that one."""

import re

import pytest
from django.urls import reverse

CURRENT = re.compile(r'<a href="([^"]+)" aria-current="page">')


def current_sections(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    nav = response.content.decode().split('<nav class="site-nav"')[1].split("</nav>")[0]
    return CURRENT.findall(nav)


@pytest.mark.parametrize(
    ("page", "section"),
    [
        ("incidents:list", "incidents:list"),
        ("incidents:declare", "incidents:declare"),
        ("incidents:team-list", "incidents:team-list"),
        ("ops:health", "ops:health"),
        ("postmortems:list", "postmortems:list"),
        ("postmortems:templates", "postmortems:list"),
        ("postmortems:my_action_items", "postmortems:my_action_items"),
        ("postmortems:action_item_report", "postmortems:my_action_items"),
    ],
)
def test_a_page_marks_its_own_section(client, admin_user, page, section):
    client.force_login(admin_user)

    assert current_sections(client, reverse(page)) == [reverse(section)]


def test_another_app_s_list_page_does_not_mark_the_incidents(client, admin_user):
    # Its URL name is "list" too: the menu compares namespaced names.
    client.force_login(admin_user)

    assert reverse("incidents:list") not in current_sections(client, "/integrations/")
