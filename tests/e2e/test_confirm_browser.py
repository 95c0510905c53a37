"""What cannot be undone asks first on its own page (ops.confirm), answered with the keyboard."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from alerts.models import Integration
from tests.alerts.factories import make_integration
from tests.e2e.test_browser import sign_in, watch_for_problems

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_rotating_a_token_asks_on_a_page_the_keyboard_answers(live_server, context, rosa):
    rosa.role = Role.MANAGER
    rosa.save(update_fields=["role"])
    integration = make_integration(name="Prometheus")
    old_hash = integration.token_hash
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/integrations/{integration.pk}/")

    page.get_by_role("button", name="Rotate token…").click()

    question = page.get_by_role("heading", name="Rotate the token of Prometheus?")
    expect(question).to_be_focused()
    expect(page.locator("#confirm-consequence")).to_contain_text("stops working at once")
    assert Integration.objects.get().token_hash == old_hash

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Rotate token", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="New token: copy it now")).to_be_visible()
    assert Integration.objects.get().token_hash != old_hash
    assert problems == []


def test_cancel_goes_back_and_changes_nothing(live_server, context, rosa):
    rosa.role = Role.MANAGER
    rosa.save(update_fields=["role"])
    integration = make_integration(name="Prometheus")
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/integrations/{integration.pk}/")
    page.get_by_role("button", name="Rotate token…").click()

    page.get_by_role("link", name="Cancel").click()

    expect(page).to_have_url(f"{live_server.url}/integrations/{integration.pk}/")
    assert Integration.objects.get().token_hash == integration.token_hash
