"""The incident page in a real browser: sign in, declare, run the incident, resolve it."""

import re

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-horse-battery"  # set by UserFactory


def watch_for_problems(page: Page) -> list[str]:
    """Collect console errors, uncaught exceptions and CSP violations as they happen."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => {"
        "  console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI);"
        "});"
    )
    return problems


def sign_in(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    # timezone.js stores the browser's zone in a cookie and reloads once to show it.
    expect(page.locator('html[data-tz="Europe/Paris"]')).to_have_count(1)
    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    # The heading shows before the deferred scripts have run and htmx has wired the page;
    # an in-page action taken before then would send nothing.
    page.wait_for_load_state("load")


def test_run_an_incident_from_declaration_to_resolution(live_server, context, rosa, artifacts):
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    page.get_by_role("link", name="Declare incident").click()
    page.get_by_label("Title").fill("Checkout is failing")
    page.get_by_label(re.compile("Critical business impact")).check()
    page.get_by_label("Summary").fill("Card payments fail for every customer.")
    page.get_by_role("button", name="Declare incident").click()
    expect(page.get_by_role("heading", name="Checkout is failing")).to_be_visible()
    status = page.locator("#incident-status")
    timeline = page.locator("#timeline")
    expect(status).to_have_text("Detected")

    # Set before the actions: a full page load would wipe it, an htmx swap keeps it.
    page.evaluate("window.tocsinMarker = 'no reload'")

    page.get_by_role("button", name="Acknowledge").click()
    expect(status).to_have_text("Acknowledged")

    page.get_by_role("button", name="Identified").click()
    expect(status).to_have_text("Identified")

    page.get_by_label("Note", exact=True).fill("The 14:02 deploy broke the card form.")
    page.get_by_role("button", name="Add note").click()
    expect(timeline).to_contain_text("The 14:02 deploy broke the card form.")

    page.locator("summary", has_text="Resolve…").click()
    page.get_by_label("Resolution note").fill("Rolled back the deploy.")
    page.get_by_role("button", name="Resolve incident").click()
    expect(status).to_have_text("Resolved")

    assert page.evaluate("window.tocsinMarker") == "no reload"
    entries = timeline.locator("li.event")
    expect(entries).to_have_count(6)
    for step in (
        "Rosa Responder declared INC-1 as SEV1: Checkout is failing",
        "Rosa Responder assumed command",
        "Rosa Responder acknowledged INC-1",
        "Rosa Responder changed status from acknowledged to identified",
        "The 14:02 deploy broke the card form.",
        "Rosa Responder resolved INC-1: Rolled back the deploy.",
    ):
        expect(timeline).to_contain_text(step)
    # Every entry carries a date and a time in the viewer's zone.
    first_time = entries.first.locator("time").inner_text()
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} CES?T", first_time)

    page.screenshot(path=str(artifacts / "incident.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "incident-phone.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    page.screenshot(path=str(artifacts / "list-phone.png"), full_page=True)

    assert problems == []


def test_filters_update_the_list_in_place_and_in_the_address_bar(live_server, context, rosa):
    declare(rosa, title="Database is down", severity_name="SEV1")
    declare(rosa, title="Typo in an email", severity_name="SEV4")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.evaluate("window.tocsinMarker = 'no reload'")

    page.get_by_label("Severity").select_option("SEV1")

    expect(page).to_have_url(re.compile(r"severity=SEV1"))
    expect(page.locator("#results-count")).to_have_text(re.compile("1 incident"))
    expect(page.locator("#incident-results")).to_contain_text("Database is down")
    expect(page.locator("#incident-results")).not_to_contain_text("Typo in an email")
    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert problems == []


def test_ticking_a_checklist_item_records_it_in_place(live_server, context, rosa):
    incident = declare(rosa, commander=rosa)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.evaluate("window.tocsinMarker = 'no reload'")

    page.get_by_label("Assess severity and impact").check()

    expect(page.locator("#timeline")).to_contain_text("ticked “Assess severity and impact”")
    expect(page.get_by_label("Assess severity and impact")).to_be_checked()
    assert incident.checklist.get(position=1).done_at is not None
    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert problems == []
