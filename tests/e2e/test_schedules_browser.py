"""Schedules in a real browser: a manager sets up a weekly rotation, a responder takes a day."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import Role, User
from incidents.models import Team
from tests.e2e.test_browser import PASSWORD, watch_for_problems
from tests.factories import TeamFactory, UserFactory
from tests.oncall.factories import weekly_schedule

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def people(transactional_db):
    payments = TeamFactory(name="Payments", slug="payments")
    UserFactory(username="mona", first_name="Mona", last_name="Manager", role=Role.MANAGER)
    rosa = UserFactory(
        username="rosa", first_name="Rosa", last_name="Responder", role=Role.RESPONDER
    )
    # Responders change who is on call on their own teams' schedules.
    payments.members.add(rosa)
    UserFactory(username="alice", first_name="Alice", last_name="Adams", role=Role.RESPONDER)
    UserFactory(username="bob", first_name="Bob", last_name="Brown", role=Role.RESPONDER)


def new_context(browser: Browser) -> BrowserContext:
    return browser.new_context(timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900})


def sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    # timezone.js stores the browser's zone in a cookie and reloads once to show it.
    expect(page.locator('html[data-tz="Europe/Paris"]')).to_have_count(1)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    # The heading shows before the deferred scripts have run and htmx has wired the page;
    # an in-page action taken before then would send nothing.
    page.wait_for_load_state("load")


def final_cell(page: Page, day: date):
    return page.locator(f'td[data-row="final"][data-day="{day.isoformat()}"]')


def test_manager_sets_up_a_rotation_and_a_responder_takes_a_day(
    live_server, browser, people, artifacts
):
    today = datetime.now(PARIS).date()
    handoff = today + timedelta(days=7 - today.weekday())  # next Monday
    wednesday = handoff + timedelta(days=2)

    manager_context = new_context(browser)
    page = manager_context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server, "mona")
    expect(page.locator("#oncall-now")).to_contain_text("No schedule yet")

    page.get_by_role("link", name="On call", exact=True).click()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("Name").fill("Payments primary")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Payments primary")).to_be_visible()

    page.get_by_role("link", name="Add layer", exact=True).click()
    page.get_by_label("Name").fill("Weekly")
    page.get_by_label("Person 1", exact=True).select_option(label="Alice Adams")
    page.get_by_label("Person 2", exact=True).select_option(label="Bob Brown")
    page.get_by_label("Weekly").check()
    page.get_by_label("First handoff").fill(f"{handoff.isoformat()}T09:00")
    page.screenshot(path=str(artifacts / "schedule-layer-form.png"), full_page=True)
    page.get_by_role("button", name="Add layer").click()

    expect(page.get_by_text("Layer Weekly added.")).to_be_visible()
    expect(final_cell(page, handoff)).to_contain_text("09:00 Alice")
    expect(final_cell(page, wednesday)).to_contain_text("Alice")
    expect(page.locator("#on-call-next")).to_contain_text("Alice Adams")

    # The next week arrives in place (htmx), with Bob taking over on the Monday after.
    page.evaluate("window.tocsinMarker = 'no reload'")
    page.get_by_role("link", name="Next week →").click()
    expect(final_cell(page, handoff + timedelta(days=8))).to_contain_text("Bob")
    assert page.evaluate("window.tocsinMarker") == "no reload"
    manager_context.close()

    responder_context = new_context(browser)
    page = responder_context.new_page()
    problems += watch_for_problems(page)
    sign_in(page, live_server, "rosa")
    expect(page.locator("#oncall-now")).to_contain_text("Payments primary")
    page.get_by_role("link", name="On call", exact=True).click()
    page.get_by_role("link", name="Payments primary", exact=True).click()
    expect(page.get_by_role("link", name="Add layer", exact=True)).to_have_count(0)

    # "Take this shift" on Alice's week, narrowed to Wednesday.
    final_cell(page, wednesday).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Override")).to_be_visible()
    expect(page.get_by_label("Who is on call").locator("option:checked")).to_have_text(
        "Rosa Responder"
    )
    expect(page.get_by_label("From")).to_have_value(f"{handoff.isoformat()}T09:00")
    page.get_by_label("From").fill(f"{wednesday.isoformat()}T00:00")
    page.get_by_label("Until").fill(f"{(wednesday + timedelta(days=1)).isoformat()}T00:00")
    page.get_by_label("Note").fill("Alice is at the dentist")
    page.get_by_role("button", name="Add override").click()

    expect(page.get_by_text("Rosa Responder is on call for that span.")).to_be_visible()
    expect(final_cell(page, wednesday)).to_contain_text("Rosa")
    expect(final_cell(page, wednesday)).not_to_contain_text("Alice")
    expect(final_cell(page, wednesday - timedelta(days=1))).to_contain_text("Alice")
    expect(
        page.locator(f'td[data-row="overrides"][data-day="{wednesday.isoformat()}"]')
    ).to_contain_text("Rosa")
    expect(page.locator("#overrides-title + ul")).to_contain_text("Alice is at the dentist")

    page.screenshot(path=str(artifacts / "schedule.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "schedule-phone.png"), full_page=True)
    responder_context.close()

    assert problems == []


def test_team_page_shows_who_is_on_call_once_htmx_loads_it(live_server, browser, people, artifacts):
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")
    started = datetime.now(PARIS) - timedelta(days=1)
    weekly_schedule([alice, bob], start=started, team=Team.objects.get(slug="payments"))

    context = new_context(browser)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server, "rosa")
    page.get_by_role("link", name="Teams", exact=True).click()
    page.get_by_role("link", name="Payments", exact=True).click()

    expect(page.get_by_role("heading", name="Payments", level=1)).to_be_visible()
    expect(page.locator("#team-oncall")).to_contain_text("Alice Adams")
    expect(page.locator("#team-oncall")).to_contain_text("Next: Bob Brown")
    page.screenshot(path=str(artifacts / "team.png"), full_page=True)
    context.close()

    assert problems == []
