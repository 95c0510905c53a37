"""On call now: a team's section (who is on call in each of its schedules, until when, who is
next, and its escalation policies) and the home page's box. The on-call app serves both; the
team page and the incident list load them with htmx."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import selectors
from oncall.models import EscalationPolicy, ScheduleOverride
from tests.factories import TeamFactory, UserFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, weekly_schedule
from tests.oncall.pages import signed_in

# In the first week of the shared rotation (tests/oncall/conftest.py): Alice is on call until
# Bob takes over on Monday 13 January at 09:00 UTC.
WEDNESDAY_NOON = MONDAYS_NINE_UTC + timedelta(days=2, hours=3)
NEXT_HANDOFF = MONDAYS_NINE_UTC + timedelta(weeks=1)


@pytest.fixture
def clock(monkeypatch):
    """timezone.now as the views read it, set by the test; Wednesday noon to begin with."""
    now = {"value": WEDNESDAY_NOON}
    monkeypatch.setattr(timezone, "now", lambda: now["value"])

    def set_to(moment):
        now["value"] = moment

    return set_to


def section(team) -> str:
    return f"/oncall/teams/{team.slug}/now"


def fragment(client, user, team) -> str:
    """The section as the team page's htmx request gets it."""
    client.force_login(user)
    response = client.get(section(team), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def schedule_line(html: str, schedule) -> str:
    match = re.search(rf'id="team-oncall-schedule-{schedule.pk}">(.*?)</li>', html, re.S)
    assert match is not None, f"no line for {schedule.name}"
    return " ".join(match[1].split())


def test_names_who_is_on_call_until_when_and_who_is_next(client, viewer, weekly, clock):
    line = schedule_line(fragment(client, viewer, weekly.team), weekly)

    assert "<strong>Alice Adams</strong>" in line
    assert "until <time" in line and "Mon 13 Jan 09:00 UTC</time>" in line
    assert "Next: Bob Brown from" in line


def test_follows_the_rotation_past_a_handoff(client, viewer, weekly, clock):
    clock(NEXT_HANDOFF + timedelta(hours=1))

    line = schedule_line(fragment(client, viewer, weekly.team), weekly)

    assert "<strong>Bob Brown</strong>" in line
    assert "Next: Alice Adams from" in line


def test_names_who_took_over_with_an_override(client, viewer, responder, weekly, clock):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=WEDNESDAY_NOON - timedelta(hours=1),
        end=WEDNESDAY_NOON + timedelta(hours=5),
    )

    line = schedule_line(fragment(client, viewer, weekly.team), weekly)

    assert "<strong>Rosa Responder</strong>" in line
    assert "Wed 8 Jan 17:00 UTC</time>" in line


def test_has_a_line_for_each_schedule_of_the_team(client, viewer, team, weekly, alice, bob, clock):
    backup = weekly_schedule([bob, alice], start=MONDAYS_NINE_UTC, team=team, name="Backup")

    html = fragment(client, viewer, team)

    assert "<strong>Alice Adams</strong>" in schedule_line(html, weekly)
    assert "<strong>Bob Brown</strong>" in schedule_line(html, backup)


def test_leaves_out_other_teams_schedules(client, viewer, weekly, clock):
    carol = UserFactory(username="carol", first_name="Carol", last_name="Clark")
    search = TeamFactory(name="Search", slug="search")
    weekly_schedule([carol], start=MONDAYS_NINE_UTC, team=search, name="Search primary")

    html = fragment(client, viewer, weekly.team)

    assert "Search primary" not in html
    assert "Carol Clark" not in html


def test_says_so_when_the_team_has_no_schedule(client, viewer, team):
    html = fragment(client, viewer, team)

    assert "No schedule for this team yet." in html


def test_links_the_team_s_escalation_policies(client, viewer, team):
    ours = EscalationPolicy.objects.create(name="Payments escalation", team=team)
    EscalationPolicy.objects.create(name="Search escalation", team=TeamFactory(name="Search"))

    html = fragment(client, viewer, team)

    assert f'<a href="/policies/{ours.pk}/">Payments escalation</a>' in html
    assert "Search escalation" not in html


def test_takes_the_same_number_of_queries_for_many_schedules(
    client, viewer, team, alice, bob, clock, django_assert_max_num_queries
):
    EscalationPolicy.objects.create(name="Payments escalation", team=team)
    for number in range(6):
        schedule = weekly_schedule(
            [alice, bob], start=MONDAYS_NINE_UTC, team=team, name=f"S{number}"
        )
        ScheduleOverride.objects.create(
            schedule=schedule,
            user=bob,
            start=WEDNESDAY_NOON + timedelta(days=1),
            end=WEDNESDAY_NOON + timedelta(days=2),
        )
    client.force_login(viewer)

    # session, user, team, schedules + teams, layers, participants, overrides, policies
    with django_assert_max_num_queries(8):
        response = client.get(section(team), headers={"HX-Request": "true"})

    assert response.content.decode().count("<strong>Alice Adams</strong>") == 6


def test_the_selector_gives_each_schedule_who_is_on_call_at_the_given_time(
    team, weekly, alice, bob
):
    backup = weekly_schedule([bob], start=MONDAYS_NINE_UTC, team=team, name="Backup")

    on_call = selectors.team_on_call(team=team, now=WEDNESDAY_NOON)

    assert [(row.schedule, row.user, row.until) for row in on_call.schedules] == [
        (backup, bob, None),  # alone in the rotation: on call past the 90 days looked at
        (weekly, alice, NEXT_HANDOFF),
    ]


def test_without_htmx_it_is_a_page_of_its_own(client, viewer, weekly, clock):
    client.force_login(viewer)

    response = client.get(section(weekly.team))

    html = response.content.decode()
    assert "<!doctype html>" in html
    assert '<a href="/teams/payments/">Payments</a>' in html  # back to the team page
    assert "<strong>Alice Adams</strong>" in schedule_line(html, weekly)
    assert "HX-Request" in response["Vary"]


def test_an_unknown_team_is_not_found(client, viewer):
    client.force_login(viewer)

    assert client.get("/oncall/teams/no-such-team/now").status_code == 404


def test_asks_anonymous_visitors_to_sign_in(client, team):
    response = client.get(section(team))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_page_loads_the_on_call_box(client, viewer):
    html = signed_in(client, viewer).get("/").content.decode()

    assert 'hx-get="/oncall/now"' in html


def test_team_page_loads_the_teams_section(client, viewer, team):
    html = signed_in(client, viewer).get(f"/teams/{team.slug}/").content.decode()

    assert 'id="team-oncall" aria-labelledby="team-oncall-title"' in html
    assert 'hx-get="/oncall/teams/payments/now"' in html


def test_on_call_box_lists_each_schedule_with_who_is_on_call(client, viewer, team, alice, bob):
    weekly_schedule([alice, bob], start=timezone.now() - timedelta(days=1), team=team)
    weekly_schedule([bob], start=timezone.now() - timedelta(days=1), team=team, name="Backup")

    html = signed_in(client, viewer).get("/oncall/now").content.decode()

    items = re.findall(r"<li>(.*?)</li>", html, re.S)
    assert len(items) == 2
    assert "Backup" in items[0] and "Bob Brown" in items[0]
    assert "Primary" in items[1] and "Alice Adams" in items[1]


def test_on_call_box_takes_the_same_number_of_queries_for_many_schedules(
    client, viewer, team, alice, bob, django_assert_max_num_queries
):
    for number in range(6):
        weekly_schedule(
            [alice, bob], start=timezone.now() - timedelta(days=1), team=team, name=f"S{number}"
        )
    signed_in(client, viewer)

    # session, user, schedules + teams, layers, participants, overrides
    with django_assert_max_num_queries(6):
        response = client.get("/oncall/now")

    assert response.content.decode().count("Alice Adams") == 6
