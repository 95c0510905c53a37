"""The audit trail in a real browser: a manager makes a change, finds it, filters the trail."""

import pytest
from auditlog.context import set_actor
from playwright.sync_api import Browser, expect

from accounts.models import Role
from incidents.models import Severity
from tests.e2e.test_browser import PASSWORD, watch_for_problems
from tests.factories import ServiceFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def trail(transactional_db):
    TeamFactory(name="Payments", slug="payments")
    mona = UserFactory(username="mona", first_name="Mona", last_name="Manager", role=Role.MANAGER)
    with set_actor(mona):
        ServiceFactory(name="checkout", team=None)
    sev4 = Severity.objects.get(name="SEV4")
    sev4.description = "Backlog it."
    sev4.save()


def test_a_manager_finds_a_change_and_filters_the_trail(
    live_server, browser: Browser, trail, artifacts
):
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    problems = watch_for_problems(page)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator('html[data-tz="Europe/Paris"]')).to_have_count(1)
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()

    # A change through the web: a new schedule.
    page.get_by_role("link", name="On call", exact=True).click()
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("Name").fill("Payments primary")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name="Payments primary")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    rows = page.locator("table.audit tbody tr")
    newest = rows.first
    expect(newest).to_contain_text("Mona Manager")
    expect(newest).to_contain_text("Payments primary")
    # Shown in the viewer's zone, as every time of the UI.
    expect(newest.locator("time").first).to_contain_text("CET")
    expect(page.get_by_text("Backlog it.")).to_be_visible()

    page.get_by_label("Kind").select_option(label="Service")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{live_server.url}/audit/?type=incidents.service&person=&since=&until="
    )
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("checkout")

    page.get_by_label("Kind").select_option(label="Every kind")
    page.get_by_label("Person").select_option(label="Tocsin (the system)")
    page.get_by_role("button", name="Filter").click()
    # The fixture's rows were written outside any request: Tocsin's too.
    expect(rows.filter(has_text="SEV4")).to_have_count(1)
    expect(rows.filter(has_text="Mona Manager")).to_have_count(0)
    expect(rows.locator('td[data-label="Who"]').first).to_have_text("Tocsin")
    page.screenshot(path=str(artifacts / "audit-trail.png"), full_page=True)

    assert problems == []
    context.close()


def test_a_responder_is_refused(live_server, browser: Browser, transactional_db):
    UserFactory(username="rosa", role=Role.RESPONDER)
    context = browser.new_context(timezone_id="Europe/Paris")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit")
    ).to_have_count(0)

    response = page.goto(f"{live_server.url}/audit/")

    assert response is not None and response.status == 403
    context.close()
