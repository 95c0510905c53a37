"""Editing a postmortem section in a browser: Edit swaps the editor in, the preview follows
the typing with its blameless suggestions, Save swaps the section back; Cancel changes
nothing; a stale save keeps the person's words."""

import pytest
from playwright.sync_api import expect

from incidents.services import incident_resolve
from postmortems.services.postmortems import postmortem_create
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare
from tests.postmortems.document_support import body, write

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities and postmortem policies for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def drafted(rosa):
    incident = declare(rosa, title="Checkout is failing")
    incident_resolve(incident=incident, actor=rosa, resolution="Rolled back.")
    return postmortem_create(incident=incident, actor=rosa)


def test_edit_preview_and_save_a_section(live_server, context, rosa, artifacts):
    postmortem = drafted(rosa)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/incidents/{postmortem.incident.number}/postmortem/")
    section = page.locator("#section-root-cause")

    section.get_by_role("link", name="Edit Root Cause").click()

    text = page.get_by_label("Text of Root Cause")
    expect(text).to_be_focused()
    expect(text).to_have_attribute(
        "placeholder",
        "What in the system allowed this to happen? "
        "Describe mechanisms, not people. Which conditions made it "
        "worse or more likely? Tag them below as well.",
    )
    text.fill("Rosa deployed a **pool** of 20; human error.")
    preview = page.locator("#preview-root-cause")
    expect(preview.locator("strong")).to_have_text("pool")
    expect(preview.locator("mark")).to_have_text(["Rosa", "human error"])
    expect(page.locator("#findings-count-root-cause")).to_have_text("2 blameless suggestions")
    page.get_by_text("Blameless principles").click()
    expect(page.get_by_text("Focus on what systems allowed the problem")).to_be_visible()
    page.screenshot(path=artifacts / "postmortem-editor.png", full_page=True)

    page.get_by_role("button", name="Save", exact=True).click()

    expect(section.locator(".pm-body strong")).to_have_text("pool")
    expect(section.get_by_label("Text of Root Cause")).to_have_count(0)
    expect(section.get_by_role("link", name="Edit Root Cause")).to_be_focused()
    assert body(postmortem, "root-cause") == "Rosa deployed a **pool** of 20; human error."
    assert problems == []


def test_cancel_puts_the_section_back_unchanged(live_server, context, rosa):
    postmortem = drafted(rosa)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/incidents/{postmortem.incident.number}/postmortem/")
    section = page.locator("#section-lessons-learned")
    section.get_by_role("link", name="Edit Lessons Learned").click()
    page.get_by_label("Text of Lessons Learned").fill("Never mind.")

    section.get_by_role("link", name="Cancel").click()

    expect(section.get_by_role("link", name="Edit Lessons Learned")).to_be_focused()
    expect(section).not_to_contain_text("Never mind.")
    assert body(postmortem, "lessons-learned") == ""


def test_a_stale_save_keeps_the_words_and_shows_theirs(live_server, context, rosa, commander):
    postmortem = drafted(rosa)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/incidents/{postmortem.incident.number}/postmortem/")
    page.locator("#section-root-cause").get_by_role("link", name="Edit Root Cause").click()
    text = page.get_by_label("Text of Root Cause")
    text.fill("Rosa's take.")
    write(postmortem, commander, "root-cause", "Cole's take.")

    text.press("Control+Enter")

    expect(page.get_by_role("alert")).to_contain_text("changed by Cole Commander")
    expect(text).to_have_value("Rosa's take.")
    expect(page.locator(".pm-theirs")).to_contain_text("Cole's take.")
    assert body(postmortem, "root-cause") == "Cole's take."

    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("#section-root-cause > .pm-body")).to_have_text("Rosa's take.")
    assert body(postmortem, "root-cause") == "Rosa's take."


def test_printing_shows_the_document_without_the_controls(live_server, context, rosa, artifacts):
    postmortem = drafted(rosa)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/incidents/{postmortem.incident.number}/postmortem/")
    expect(page.get_by_role("button", name="Refresh from incident")).to_be_visible()

    page.emulate_media(media="print")

    page.screenshot(path=artifacts / "postmortem-print.png", full_page=True)
    for hidden in (
        page.locator(".site-header"),
        page.get_by_role("button", name="Refresh from incident"),
        page.get_by_role("link", name="Download Markdown"),
        page.get_by_role("link", name="Edit Root Cause"),
        page.get_by_text("Required sections not written yet"),
        page.get_by_text("What would you tell a team about to run the same system?"),
        page.get_by_role("link", name="History"),
    ):
        expect(hidden).to_be_hidden()
    expect(
        page.get_by_role("heading", name="Postmortem: INC-1 - Checkout is failing")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Root Cause")).to_be_visible()
    expect(page.locator("#section-timeline table")).to_be_visible()
