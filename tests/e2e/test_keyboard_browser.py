"""An incident run from the keyboard alone, with the shortcuts PagerDuty and incident.io users
expect (static/js/keys.js): focus lands on the incident's state after each action, on the
first bad field of a failed form, and back where it was when the shortcuts dialog closes."""

import re

import pytest
from playwright.sync_api import Page, Route, expect

from accounts.models import Role
from incidents import services
from tests.e2e.test_browser import PASSWORD, sign_in, watch_for_problems
from tests.factories import UserFactory, declare, severity

# The incident page asks every 3 s; a few seconds more for a loaded machine.
SOON = 8_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def tab_to(page: Page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until `selector` has focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def error_read_with(page: Page, field_id: str) -> str:
    """The text assistive technology reads as the field's description (aria-describedby)."""
    return page.evaluate(
        "(id) => (document.getElementById(id).getAttribute('aria-describedby') || '')"
        ".split(' ').map((ref) => document.getElementById(ref)?.textContent || '').join(' ')",
        field_id,
    )


def test_declare_acknowledge_note_and_resolve_from_the_keyboard(live_server, context, rosa):
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    # Declare: an empty form comes back focused on its first bad field, the error read with it.
    tab_to(page, "nav.site-nav a[href$='/incidents/new/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Declare an incident")).to_be_visible()
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    title = page.locator("#id_title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_be_focused()
    assert "required" in error_read_with(page, "id_title")
    page.keyboard.type("Checkout is failing")
    tab_to(page, "input[name=severity]")
    page.keyboard.press("Space")
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Checkout is failing")).to_be_visible()
    # The heading shows before the deferred keys.js listens: a key pressed sooner is lost.
    page.wait_for_load_state("load")
    status = page.locator("#incident-status")
    state = page.locator("#incident-state")
    announced = page.locator("#announce")

    # `a` acknowledges; focus goes to the incident's state, which is announced.
    expect(status).to_have_text("Detected")
    page.keyboard.press("a")
    expect(status).to_have_text("Acknowledged")
    expect(state).to_be_focused()
    expect(announced).to_contain_text("Acknowledged")

    # A status move by Tab and Enter lands there too, not on the page body.
    tab_to(page, "#action-status-investigating")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Investigating")
    expect(state).to_be_focused()

    # A note: typed, sent with Ctrl+Enter; the field is ready for the next one. Letters typed
    # in it are text, not shortcuts.
    tab_to(page, "#note-text")
    page.keyboard.type("Rolled back the deploy; r and a are just letters")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#timeline")).to_contain_text("Rolled back the deploy")
    note = page.locator("#note-text")
    expect(note).to_be_focused()
    expect(note).to_have_value("")
    expect(status).to_have_text("Investigating")
    expect(page.locator("details:has(#action-resolve)")).not_to_have_attribute("open", "")
    page.keyboard.type("Cmd+Enter sends it as well")
    page.keyboard.press("Meta+Enter")
    expect(page.locator("#timeline")).to_contain_text("Cmd+Enter sends it as well")
    # The swap settles before focus comes back to the emptied field: wait for it, as a person
    # would, before moving on.
    expect(note).to_be_focused()
    expect(note).to_have_value("")
    # Nothing still on its way (the note's answer, a poll): under CI's load a late swap landed
    # between `r` and Ctrl+Enter, closing the resolve form and sending the empty note instead.
    page.wait_for_function("() => !document.querySelector('.htmx-request')")

    # `r` opens the resolve form on its note, and resolves nothing by itself.
    page.keyboard.press("Tab")
    expect(page.locator("#note-submit")).to_be_focused()
    page.keyboard.press("r")
    resolution = page.locator("#resolve-resolution")
    expect(resolution).to_be_focused()
    expect(status).to_have_text("Investigating")

    # Sent empty, it comes back focused on the bad field, the error read with it.
    page.keyboard.press("Control+Enter")
    expect(resolution).to_have_attribute("aria-invalid", "true")
    expect(resolution).to_be_focused()
    assert "required" in error_read_with(page, "resolve-resolution")
    page.keyboard.type("Deploy rolled back.")
    tab_to(page, "#resolve-submit")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Resolved")
    expect(state).to_be_focused()

    # `?` lists the shortcuts in a modal dialog; Escape closes it and focus goes back.
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    page.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Acknowledge")
    assert page.evaluate("document.getElementById('keys-help').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    expect(state).to_be_focused()
    # The two failed forms were answered 400 on purpose; nothing else went wrong.
    assert [problem for problem in problems if "status of 400" not in problem] == []


def test_shortcuts_need_no_modifier_and_a_person_who_may_act(live_server, context, rosa, artifacts):
    viewer = UserFactory(username="vic", first_name="Vic", role=Role.VIEWER)
    incident = declare(rosa, title="Search is slow", severity_name="SEV3")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    # `/` goes to the search of the incident list.
    page.keyboard.press("/")
    expect(page.locator("form[role=search] input").first).to_be_focused()

    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    status = page.locator("#incident-status")
    for chord in ("Control+a", "Alt+a", "Meta+a", "Shift+A", "Alt+r"):
        page.keyboard.press(chord)
    page.wait_for_timeout(300)
    expect(status).to_have_text("Detected")
    expect(page.locator("details:has(#action-resolve)")).not_to_have_attribute("open", "")
    page.keyboard.press("a")
    expect(status).to_have_text("Acknowledged")

    # A viewer has no Acknowledge or Resolve button, and the keys do nothing for them.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/?next={incident.get_absolute_url()}")
    page.get_by_label("Username").fill(viewer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Search is slow")).to_be_visible()
    page.wait_for_load_state("load")
    page.keyboard.press("r")
    expect(page.locator("#action-resolve")).to_have_count(0)
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # The user menu offers the same list, for those who do not know to press "?".
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(help_dialog).to_be_visible()
    page.screenshot(path=str(artifacts / "keyboard-shortcuts.png"))
    page.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()
    expect(page.locator(".user-menu summary")).to_be_focused()
    assert problems == []


def test_focus_survives_someone_elses_change_arriving(live_server, context, rosa):
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV2")
    cole = UserFactory(username="cole", first_name="Cole", role=Role.RESPONDER)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    tab_to(page, "#action-acknowledge")

    # Cole acknowledges elsewhere: the button Rosa was on goes, and her focus goes to the
    # incident's state rather than to the page body.
    services.incident_acknowledge(incident=incident, actor=cole)
    expect(page.locator("#incident-status")).to_have_text("Acknowledged", timeout=SOON)
    state = page.locator("#incident-state")
    expect(state).to_be_focused()

    # He raises the severity: the state is replaced, and focus stays on it.
    services.incident_set_severity(incident=incident, actor=cole, severity=severity("SEV1"))
    expect(page.locator("#incident-head .badge")).to_have_text("SEV1", timeout=SOON)
    expect(state).to_be_focused()

    # Rosa picks SEV3 while Cole lowers it to SEV2: her change, made on SEV1, is refused, and
    # focus goes to the refusal, which is an alert.
    tab_to(page, "#action-severity")
    page.keyboard.press("Enter")
    page.locator("#severity-severity").select_option(label="SEV3")
    services.incident_set_severity(incident=incident, actor=cole, severity=severity("SEV2"))
    expect(page.locator("#incident-head .badge")).to_have_text("SEV2", timeout=SOON)
    tab_to(page, "#severity-submit")
    page.keyboard.press("Enter")
    refusal = page.locator("#incident-actions .form-errors[role=alert]")
    expect(refusal).to_contain_text("not SEV1 as you saw it")
    expect(refusal).to_be_focused()
    assert [problem for problem in problems if "status of 409" not in problem] == []


def test_a_poll_answered_after_an_action_does_not_undo_it_or_take_its_focus(
    live_server, context, rosa
):
    """A poll asked before Acknowledge and answered after it was rendered before the action.
    The action's answer replaced its poller, and htmx looks for the poll's parts under the
    poller's root, which is no longer the page: the stale answer changes nothing."""
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV2")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    status = page.locator("#incident-status")
    held: list = []

    def hold_the_first_poll(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.extend([route.fetch(), route])

    page.route(re.compile(r"/incidents/\d+/live/"), hold_the_first_poll)

    # Someone adds a note, so the next poll has a change to bring, rendered while still Detected.
    services.incident_add_note(incident=incident, actor=rosa, text="Looking at the load balancer")
    page.evaluate("htmx.trigger(document, 'visibilitychange')")
    for _ in range(100):
        if len(held) == 2:
            break
        page.wait_for_timeout(50)
    assert "Detected" in held[0].text()
    tab_to(page, "#action-acknowledge")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Acknowledged")
    state = page.locator("#incident-state")
    expect(state).to_be_focused()

    # The poll's answer arrives now, after the action's.
    answer, route = held
    route.fulfill(response=answer)
    page.wait_for_timeout(500)
    assert status.text_content() == "Acknowledged"
    expect(state).to_be_focused()
    assert problems == []
