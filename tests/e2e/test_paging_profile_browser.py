"""My paging settings in a real browser: add an email, verify it, take the recommended steps,
send myself a test page."""

import re

import pytest
from playwright.sync_api import expect

from oncall.models import ContactMethod, Notification, NotificationKind
from tests.e2e.test_browser import sign_in, watch_for_problems

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def code_sent_to(method: ContactMethod) -> str:
    body = (
        Notification.objects.filter(contact_method=method, kind=NotificationKind.VERIFICATION)
        .latest("id")
        .body
    )
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match[1]


def test_add_verify_take_the_recommended_steps_and_send_a_test_page(
    live_server, context, rosa, artifacts
):
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    page.locator(".user-menu summary").click()
    page.get_by_role("link", name="Paging").click()
    expect(page.get_by_role("heading", name="My paging settings")).to_be_visible()
    expect(page.locator("#no-steps")).to_contain_text("Pages cannot reach you yet")

    page.get_by_label("Kind").select_option("email")
    page.get_by_label("Address").fill("rosa@example.com")
    page.get_by_role("button", name="Add contact method").click()
    expect(page.get_by_text("We sent a code to rosa@example.com")).to_be_visible()

    method = ContactMethod.objects.get(user=rosa)
    page.get_by_label("Code").fill(code_sent_to(method))
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(
        page.get_by_text("Verified: pages can now reach you at rosa@example.com.")
    ).to_be_visible()
    expect(page.locator(f"#method-{method.pk}")).to_contain_text("Verified")
    expect(page.locator("#no-steps")).to_contain_text("every verified method at once")

    page.get_by_role("button", name="Use the recommended steps").click()
    expect(page.locator("#steps-summary")).to_have_text("Email immediately.")

    page.get_by_role("button", name="Send me a test page").click()
    expect(page.get_by_text("Test page on its way to rosa@example.com")).to_be_visible()

    assert Notification.objects.filter(kind=NotificationKind.TEST, contact_method=method).exists()
    page.screenshot(path=str(artifacts / "paging-settings.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "paging-settings-phone.png"), full_page=True)
    assert problems == []
