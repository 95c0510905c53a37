"""Two people on one incident, each in their own browser: each sees the other's changes within
seconds without reloading, a change made on a stale view is refused with a way to retry, and
the note one of them is typing survives the other's changes."""

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import Role
from incidents.models import Incident, Severity
from tests.e2e.test_browser import PASSWORD, watch_for_problems
from tests.factories import UserFactory, declare

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The page asks every 3 s; a few seconds more for a loaded machine.
SOON = 8_000


@pytest.fixture
def cole(transactional_db: None):
    return UserFactory(
        username="cole", first_name="Cole", last_name="Commander", role=Role.RESPONDER
    )


@pytest.fixture
def other_context(browser) -> BrowserContext:
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def open_as(context: BrowserContext, live_server, username: str, path: str) -> Page:
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    expect(page.locator('html[data-tz="Europe/Paris"]')).to_have_count(1)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    # A full page load would wipe it; live updates must not need one.
    page.evaluate("window.tocsinMarker = 'no reload'")
    return page


def severity_badge(page: Page):
    return page.locator("#incident-head .incident__tags .badge")


def test_two_people_see_each_others_changes_and_a_stale_change_is_refused(
    live_server, context, other_context, rosa, cole, artifacts
):
    incident: Incident = declare(rosa, title="Checkout is failing", severity_name="SEV2")
    path = incident.get_absolute_url()
    rosa_page = open_as(context, live_server, "rosa", path)
    cole_page = open_as(other_context, live_server, "cole", path)
    problems = watch_for_problems(rosa_page) + watch_for_problems(cole_page)

    # Cole starts a note and opens the severity form while the incident is SEV2.
    cole_page.get_by_label("Note", exact=True).fill("Half-typed thought")
    cole_page.locator("summary", has_text="Severity…").click()
    cole_page.locator("#severity-severity").select_option(label="SEV3")

    # Rosa raises it to SEV1 and moves it on.
    rosa_page.locator("summary", has_text="Severity…").click()
    rosa_page.locator("#severity-severity").select_option(label="SEV1")
    rosa_page.get_by_role("button", name="Change severity").click()
    expect(severity_badge(rosa_page)).to_have_text("SEV1")
    rosa_page.get_by_role("button", name="Investigating").click()
    expect(rosa_page.locator("#incident-status")).to_have_text("Investigating")

    # Cole's page follows, without a reload, keeping his note and his open form.
    expect(severity_badge(cole_page)).to_have_text("SEV1", timeout=SOON)
    expect(cole_page.locator("#incident-status")).to_have_text("Investigating", timeout=SOON)
    expect(cole_page.locator("#timeline")).to_contain_text("raised severity from SEV2 to SEV1")
    assert cole_page.evaluate("window.tocsinMarker") == "no reload"
    expect(cole_page.get_by_label("Note", exact=True)).to_have_value("Half-typed thought")
    expect(cole_page.locator("#severity-severity")).to_have_value(
        str(Severity.objects.get(name="SEV3").pk)
    )

    # His change was chosen on SEV2: refused, with the current severity, nothing applied.
    cole_page.get_by_role("button", name="Change severity").click()
    refusal = cole_page.locator("#incident-actions .form-errors")
    expect(refusal).to_contain_text("is now SEV1, not SEV2 as you saw it")
    expect(severity_badge(cole_page)).to_have_text("SEV1")
    incident.refresh_from_db()
    assert incident.severity.name == "SEV1"
    expect(cole_page.get_by_label("Note", exact=True)).to_have_value("Half-typed thought")
    cole_page.screenshot(path=str(artifacts / "live-stale-refused.png"))

    # Reviewed, he confirms by sending it again; Rosa sees it without a reload.
    cole_page.get_by_role("button", name="Change severity").click()
    expect(severity_badge(cole_page)).to_have_text("SEV3")
    expect(severity_badge(rosa_page)).to_have_text("SEV3", timeout=SOON)
    assert rosa_page.evaluate("window.tocsinMarker") == "no reload"

    assert problems == []


def test_the_list_shows_a_new_incident_and_a_hidden_tab_stops_asking(
    live_server, context, rosa, cole
):
    declare(rosa, title="Checkout is failing")
    page = open_as(context, live_server, "rosa", "/")
    problems = watch_for_problems(page)
    expect(page.locator("#incident-results")).to_contain_text("1 incident")

    declare(cole, title="Search is slow")
    expect(page.locator("#incident-results")).to_contain_text("Search is slow", timeout=SOON)
    expect(page.locator("#incident-results")).to_contain_text("2 incidents")
    assert page.evaluate("window.tocsinMarker") == "no reload"

    # While nothing changes the polls are answered 304, with nothing to swap.
    answers: list[int] = []
    page.on("response", lambda response: answers.append(response.status))
    page.wait_for_timeout(6_000)
    assert answers, "the list did not poll"
    assert set(answers) == {304}
    expect(page.locator("#incident-results")).to_contain_text("Search is slow")

    # A tab in the background asks nothing.
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url))
    page.evaluate(
        "Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'});"
        "document.dispatchEvent(new Event('visibilitychange'));"
    )
    page.wait_for_timeout(7_000)
    assert polls == []

    assert problems == []
