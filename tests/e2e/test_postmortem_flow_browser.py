"""A postmortem's whole life in a real browser, as its author and its reviewer live it:
resolve the incident, open the draft the worker wrote, write the required sections, add an
action item, request a review, approve it in another session, publish, find it read-only and
listed, then follow up with an action item found on "My action items"."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from postmortems import tasks
from postmortems.models import ActionItem, Postmortem, PostmortemStatus
from tests.e2e.test_browser import PASSWORD, watch_for_problems
from tests.factories import declare
from tests.postmortems.document_support import body

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities and postmortem policies for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TITLE = "Postmortem: INC-1 - Checkout is failing"

# The required sections of the default template, and what the team writes in each.
WRITTEN = {
    "Executive Summary": "Card payments failed for 40 minutes after a deploy; a rollback ended it.",
    "Impact": (
        "- **Duration:** 40 minutes\n"
        "- **Users affected:** every customer paying by card\n"
        "- **Data loss:** none\n"
        "- **Revenue impact:** about 300 orders delayed"
    ),
    "Root Cause": "The deploy halved the payment **connection pool** while traffic peaked.",
    "Response": "### What went well\n\nThe rollback took two minutes.",
    "Lessons Learned": "Pool sizes belong in the load test, not in the deploy notes.",
}


def sign_in_as(page: Page, live_server, username: str, name: str) -> None:
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
    expect(page.locator(".user-menu__name")).to_have_text(name)


def write_section(page: Page, heading: str, text: str) -> None:
    """Edit, type, Save: the section comes back with the words, its editor gone."""
    section = page.locator("section.pm-section", has=page.get_by_role("heading", name=heading))
    section.get_by_role("link", name=f"Edit {heading}").click()
    editor = page.get_by_label(f"Text of {heading}")
    expect(editor).to_be_focused()
    editor.clear()
    editor.press_sequentially(text)
    # The preview follows the typing (each text ends in plain words, not Markdown).
    expect(section.get_by_role("region", name="Preview")).to_contain_text(text[-20:])
    section.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_label(f"Text of {heading}")).to_have_count(0)
    expect(section.get_by_role("link", name=f"Edit {heading}")).to_be_focused()
    expect(section.locator(".pm-required")).to_have_count(0)


def add_action_item(page: Page, title: str, owner: str) -> None:
    panel = page.get_by_role("region", name=re.compile(r"^Action items"))
    panel.get_by_role("link", name="Add an action item").click()
    panel.get_by_label("Title").fill(title)
    panel.get_by_label("Owner").select_option(label=owner)
    panel.get_by_role("button", name="Add action item").click()
    expect(panel.locator("#action-item-added")).to_have_text(f"Added “{title}”.")


@pytest.fixture
def reviewer_context(browser: Browser) -> Iterator[BrowserContext]:
    """The reviewer's own browser session, beside the author's."""
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def test_resolve_write_review_publish_and_follow_up(
    live_server, context, reviewer_context, rosa, commander, artifacts
):
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV2", commander=rosa)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in_as(page, live_server, "rosa", "Rosa Responder")

    # Resolve it from its page.
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.locator("summary", has_text="Resolve…").click()
    page.get_by_label("Resolution note").fill("Rolled back the deploy.")
    page.get_by_role("button", name="Resolve incident").click()
    expect(page.locator("#incident-status")).to_have_text("Resolved")

    # Resolving queued the draft for a worker; here the test is the worker.
    assert not Postmortem.objects.exists()
    assert tasks.draft_postmortem(incident.pk) is True

    # The incident page links to the draft. Its postmortem panel is not part of what resolving
    # re-renders, and the draft came later from the worker: a reload shows it.
    page.reload()
    panel = page.get_by_role("region", name="Postmortem", exact=True)
    expect(panel).to_contain_text("Draft")
    panel.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.locator("#postmortem-status")).to_have_text("Draft")

    # Write every required section, each through its editor.
    for heading, text in WRITTEN.items():
        write_section(page, heading, text)
    postmortem = Postmortem.objects.get(incident=incident)
    assert body(postmortem, "root-cause") == WRITTEN["Root Cause"]
    expect(page.locator("#section-root-cause .pm-body strong")).to_have_text("connection pool")

    # An action item for the reviewer, from the postmortem page.
    add_action_item(page, "Load-test the payment pool", owner="Cole Commander")

    # Ask Cole to review.
    workflow = page.get_by_role("region", name="Review and publishing")
    workflow.get_by_role("group", name="Reviewers").get_by_label("Cole Commander").check()
    workflow.get_by_role("button", name="Request review").click()
    expect(workflow.locator("#workflow-status")).to_contain_text("In review")
    expect(workflow.locator("#workflow-reviewers")).to_contain_text("Cole Commander: Waiting")
    expect(workflow.get_by_role("button", name="Publish")).to_be_disabled()
    expect(workflow.locator("#workflow-publish-problems")).to_have_text(
        re.compile(r"^\s*Before it can be published:\s*At least one reviewer must approve it.\s*$")
    )

    # Cole approves, in his own session.
    review = reviewer_context.new_page()
    review_problems = watch_for_problems(review)
    sign_in_as(review, live_server, "cole", "Cole Commander")
    # The review email links to the postmortem page.
    review.goto(f"{live_server.url}{postmortem.get_absolute_url()}")
    their_panel = review.get_by_role("region", name="Review and publishing")
    expect(their_panel).to_contain_text("Rosa Responder asked for your review.")
    their_review = their_panel.locator("#workflow-review-form")
    their_review.get_by_label("Your review").fill("Clear and blameless.")
    their_panel.get_by_role("button", name="Approve").click()
    expect(their_panel.locator("#workflow-reviewers")).to_contain_text("Cole Commander: Approved")
    expect(their_panel).to_contain_text("1 approval")

    # Rosa's page does not follow other people's changes: she reloads, sees the approval and
    # publishes.
    page.reload()
    expect(workflow).to_contain_text("Clear and blameless.")
    workflow.get_by_role("button", name="Publish").click()
    expect(page.locator("#postmortem-status")).to_have_text("Published")
    expect(page.get_by_text("Read-only", exact=True)).to_be_visible()
    # The record as published says so, and lists the action item added after the draft.
    expect(page.locator("#section-header")).to_contain_text("Status: Published")
    expect(page.locator("#section-action-items")).to_contain_text("Load-test the payment pool")
    page.screenshot(path=artifacts / "postmortem-published.png", full_page=True)

    # Read-only: no controls to change the document, and the server refuses a change.
    expect(page.get_by_role("link", name=re.compile(r"^Edit "))).to_have_count(0)
    expect(page.get_by_role("button", name="Refresh from incident")).to_have_count(0)
    expect(page.get_by_role("button", name="Request review")).to_have_count(0)
    expect(page.get_by_role("button", name="Reopen review")).to_be_visible()
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}{postmortem.get_absolute_url()}sections/root-cause/",
        form={"body": "Rewritten after publishing.", "revision": str(postmortem.revision + 99)},
        headers={"X-CSRFToken": csrf, "HX-Request": "true"},
    )
    assert refused.status == 409
    assert "published and read-only" in refused.text()
    postmortem.refresh_from_db()
    assert postmortem.status == PostmortemStatus.PUBLISHED
    assert body(postmortem, "root-cause") == WRITTEN["Root Cause"]
    # Asking for the editor by its address (the link Edit would be) shows none either.
    page.goto(f"{live_server.url}{postmortem.get_absolute_url()}?edit=root-cause")
    expect(page.get_by_role("heading", name="Root Cause")).to_be_visible()
    expect(page.get_by_label("Text of Root Cause")).to_have_count(0)

    # Listed on /postmortems/ as published.
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="Postmortems").click()
    expect(page.get_by_role("heading", name="Postmortems", level=1)).to_be_visible()
    expect(menu.get_by_role("link", name="Postmortems")).to_have_attribute("aria-current", "page")
    row = page.locator("#postmortem-table tbody tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row.locator('td[data-label="Status"]')).to_contain_text("Published")

    # Follow up from the incident page: an action item of Rosa's own.
    row.get_by_role("link", name="INC-1", exact=True).click()
    expect(page.get_by_role("region", name="Postmortem", exact=True)).to_contain_text("Published")
    add_action_item(page, "Alert on checkout error rate", owner="Rosa Responder")

    # "My action items" lists hers, not the one Cole owns.
    menu.get_by_role("link", name="Action items").click()
    expect(page.get_by_role("heading", name="My action items")).to_be_visible()
    expect(menu.get_by_role("link", name="Action items")).to_have_attribute("aria-current", "page")
    mine = page.locator("#my-action-items")
    expect(mine.get_by_role("link", name="Alert on checkout error rate")).to_be_visible()
    expect(mine).to_contain_text(incident.ref)
    expect(mine).not_to_contain_text("Load-test the payment pool")
    page.screenshot(path=artifacts / "postmortem-flow-my-action-items.png", full_page=True)

    assert sorted(ActionItem.objects.values_list("title", "owner__username")) == [
        ("Alert on checkout error rate", "rosa"),
        ("Load-test the payment pool", "cole"),
    ]
    # The refused edit was answered 409 on purpose, outside the page; nothing else went wrong.
    assert problems == []
    assert review_problems == []
