"""Action items in a real browser: added from the incident page without a reload, found on
"My action items", and declined with a reason on their own page."""

import pytest
from playwright.sync_api import expect

from postmortems.models import ActionItem
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities and postmortem policies for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_add_an_action_item_and_find_it_on_my_action_items(live_server, context, rosa, artifacts):
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV1")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.evaluate("window.tocsinMarker = 'no reload'")

    panel = page.locator("#action-items")
    expect(panel.locator("#action-items-empty")).to_be_visible()
    panel.get_by_role("link", name="Add an action item").click()
    panel.get_by_label("Title").fill("Alert on queue depth")
    panel.get_by_label("Owner").select_option(label="Rosa Responder")
    panel.get_by_label("Ticket URL").fill("ftp://tickets.example.com/OPS-7")
    panel.get_by_role("button", name="Add action item").click()
    expect(panel.locator(".error")).to_have_text("Give a link starting with http:// or https://.")
    panel.get_by_label("Ticket URL").fill("https://tickets.example.com/OPS-7")
    panel.get_by_role("button", name="Add action item").click()

    expect(panel.locator("#action-item-added")).to_have_text("Added “Alert on queue depth”.")
    expect(panel.locator("#action-items-table tbody tr")).to_have_count(1)
    expect(panel.locator("#action-items-table")).to_contain_text("Rosa Responder")
    assert page.evaluate("window.tocsinMarker") == "no reload"
    page.screenshot(path=artifacts / "action-items-incident-panel.png", full_page=True)

    page.goto(f"{live_server.url}/action-items/")
    expect(page.get_by_role("heading", name="My action items")).to_be_visible()
    mine = page.locator("#my-action-items")
    expect(mine).to_contain_text("Alert on queue depth")
    expect(mine).to_contain_text(incident.ref)
    page.screenshot(path=artifacts / "my-action-items.png", full_page=True)

    mine.get_by_role("link", name="Alert on queue depth").click()
    page.get_by_label("Status").select_option(label="Won't do")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#action-item-edit .error")).to_have_text("Say why this will not be done.")
    page.get_by_label("Why it will not be done").fill("The queue is being retired.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#action-item-status")).to_have_text("Won't do")
    expect(page.locator("#action-item-reason")).to_have_text("The queue is being retired.")

    assert ActionItem.objects.get().wont_do_reason == "The queue is being retired."
    # The two refused forms were answered 400 on purpose; nothing else went wrong.
    assert [problem for problem in problems if "status of 400" not in problem] == []
    assert len(problems) == 2
