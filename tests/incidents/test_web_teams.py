"""Team pages: the list of teams, and a team's page with its people, services and open incidents.

Who is on call for a team is the on-call app's box, added through incidents.boxes
(tests/oncall/test_web_oncall_now.py); the team page only renders what is registered.
"""

import pytest
from django.urls import reverse

from incidents import services
from tests.factories import ServiceFactory, TeamFactory, UserFactory, declare

TEAMS = reverse("incidents:team-list")


def team_page(team) -> str:
    return reverse("incidents:team-detail", kwargs={"slug": team.slug})


def open_refs(response) -> list[str]:
    return [incident.ref for incident in response.context["open_incidents"].object_list]


@pytest.fixture
def payments(db):
    return TeamFactory(name="Payments", slug="payments", description="Takes the money.")


def resolved(incident, actor):
    services.incident_resolve(incident=incident, actor=actor, resolution="fixed")
    return incident


@pytest.mark.parametrize("page", ["list", "team"])
def test_team_pages_ask_anonymous_visitors_to_sign_in(client, payments, page):
    response = client.get(TEAMS if page == "list" else team_page(payments))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_main_navigation_links_to_the_teams(client, viewer):
    client.force_login(viewer)

    html = client.get(reverse("incidents:list")).content.decode()

    assert f'<a href="{TEAMS}">Teams</a>' in html


def test_list_links_each_team_to_its_page(client, viewer, payments):
    TeamFactory(name="Search", slug="search")
    client.force_login(viewer)

    html = client.get(TEAMS).content.decode()

    assert '<a href="/teams/payments/">Payments</a>' in html
    assert '<a href="/teams/search/">Search</a>' in html


def test_list_counts_each_team_s_members_and_open_incidents(
    client, viewer, responder, payments, alice, bob
):
    payments.members.add(alice, bob)
    declare(responder, team=payments)
    resolved(declare(responder, team=payments), responder)
    TeamFactory(name="Search", slug="search")
    client.force_login(viewer)

    teams = client.get(TEAMS).context["teams"]

    counts = {team.name: (team.member_count, team.open_incident_count) for team in teams}
    assert counts == {"Payments": (2, 1), "Search": (0, 0)}


def test_list_does_not_count_a_private_incident_for_someone_who_may_not_see_it(
    client, responder, outsider, payments
):
    declare(responder, team=payments, private=True)
    client.force_login(outsider)

    (team,) = client.get(TEAMS).context["teams"]

    assert team.open_incident_count == 0


def test_list_takes_the_same_number_of_queries_for_many_teams(
    client, viewer, responder, alice, bob, django_assert_max_num_queries
):
    for number in range(6):
        team = TeamFactory(name=f"Team {number}", slug=f"team-{number}")
        team.members.add(alice, bob)
        declare(responder, team=team)
    client.force_login(viewer)

    # session, user, teams with both counts
    with django_assert_max_num_queries(3):
        response = client.get(TEAMS)

    assert response.content.decode().count('href="/teams/team-') == 6


def test_unknown_team_is_not_found(client, viewer):
    client.force_login(viewer)

    assert client.get("/teams/no-such-team/").status_code == 404


def test_team_page_shows_its_name_description_leads_and_members(
    client, viewer, payments, alice, bob
):
    payments.members.add(alice, bob)
    payments.leads.add(alice)
    client.force_login(viewer)

    response = client.get(team_page(payments))

    html = response.content.decode()
    assert "<h1>Payments</h1>" in html
    assert "Takes the money." in html
    assert [lead.display_name for lead in response.context["leads"]] == ["Alice Adams"]
    assert [member.display_name for member in response.context["members"]] == [
        "Alice Adams",
        "Bob Brown",
    ]
    assert '<li>Alice Adams <span class="tag">Lead</span></li>' in html
    assert "<li>Bob Brown</li>" in html


def test_team_page_lists_the_team_s_services(client, viewer, payments):
    ServiceFactory(name="checkout", team=payments)
    ServiceFactory(name="search-api", team=TeamFactory(name="Search"))
    client.force_login(viewer)

    response = client.get(team_page(payments))

    assert [service.name for service in response.context["services"]] == ["checkout"]
    assert 'href="/?service=checkout"' in response.content.decode()


def test_team_page_lists_only_the_team_s_open_incidents(client, viewer, responder, payments):
    open_one = declare(responder, team=payments, title="Card payments fail")
    closed = resolved(declare(responder, team=payments, title="Refunds were slow"), responder)
    elsewhere = declare(responder, team=TeamFactory(name="Search"), title="Search is down")
    client.force_login(viewer)

    response = client.get(team_page(payments))

    assert open_refs(response) == [open_one.ref]
    html = response.content.decode()
    assert f'<a href="/incidents/{open_one.number}/">{open_one.ref}</a>' in html
    assert closed.title not in html
    assert elsewhere.title not in html


def test_team_page_hides_a_private_incident_from_someone_who_may_not_see_it(
    client, responder, outsider, payments
):
    secret = declare(responder, team=payments, private=True, title="Leaked credentials")
    client.force_login(outsider)

    response = client.get(team_page(payments))

    assert open_refs(response) == []
    assert secret.title not in response.content.decode()


def test_team_page_shows_a_private_incident_to_its_participants(client, responder, payments):
    secret = declare(responder, team=payments, private=True, title="Leaked credentials")
    client.force_login(responder)

    response = client.get(team_page(payments))

    assert open_refs(response) == [secret.ref]


def test_team_page_links_to_the_incident_list_when_more_are_open_than_it_shows(
    client, viewer, responder, payments
):
    for number in range(26):
        declare(responder, team=payments, title=f"Incident {number}")
    client.force_login(viewer)

    response = client.get(team_page(payments))

    assert len(open_refs(response)) == 25
    assert 'href="/?status=open&amp;team=payments">All 26 open incidents' in (
        response.content.decode()
    )


def test_team_page_loads_who_is_on_call_from_the_on_call_app(client, viewer, payments):
    client.force_login(viewer)

    html = client.get(team_page(payments)).content.decode()

    assert 'hx-get="/oncall/teams/payments/now" hx-trigger="load"' in html
    # Without JavaScript, a plain link to the same section.
    assert '<a href="/oncall/teams/payments/now">See who is on call</a>' in html


def test_team_page_takes_the_same_number_of_queries_however_many_people_and_incidents(
    client, viewer, responder, payments, django_assert_max_num_queries
):
    for number in range(6):
        person = UserFactory(username=f"person{number}")
        payments.members.add(person)
        payments.leads.add(person)
        ServiceFactory(name=f"service-{number}", team=payments)
        declare(responder, team=payments, commander=responder)
    client.force_login(viewer)

    # session, user, team, leads, members, services, open incidents count, open incidents
    with django_assert_max_num_queries(8):
        response = client.get(team_page(payments))

    assert len(open_refs(response)) == 6
