"""A token shown once asks before the page is left, until it has been copied
(static/js/shown_once.js)."""

import pytest
from playwright.sync_api import Dialog, Page, expect

from accounts.models import Role
from tests.alerts.factories import make_integration
from tests.e2e.test_browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def show_new_token(page: Page, live_server, integration) -> None:
    page.goto(f"{live_server.url}/integrations/{integration.pk}/")
    page.get_by_role("button", name="Rotate token…").click()
    page.get_by_role("button", name="Rotate token", exact=True).click()
    expect(page.get_by_role("heading", name="New token: copy it now")).to_be_visible()
    expect(page.locator("#token-warning")).to_have_text("Copy it now: it won't be shown again.")
    # The token shows before the deferred shown_once.js has run and set its beforeunload guard.
    page.wait_for_load_state("load")
    # Chromium asks before unloading only a page the person has touched.
    page.locator("#token-value").click()


def dialogs_on_close(page: Page) -> list[str]:
    seen: list[str] = []

    def answer(dialog: Dialog) -> None:
        seen.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    page.wait_for_event("close")
    return seen


@pytest.fixture
def manager(rosa):
    rosa.role = Role.MANAGER
    rosa.save(update_fields=["role"])
    return rosa


def test_leaving_a_shown_token_asks_first(live_server, context, manager):
    integration = make_integration(name="Prometheus")
    page = context.new_page()
    sign_in(page, live_server)
    show_new_token(page, live_server, integration)

    assert dialogs_on_close(page) == ["beforeunload"]


def test_a_copied_token_may_be_left_without_asking(live_server, context, manager):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    integration = make_integration(name="Prometheus")
    page = context.new_page()
    sign_in(page, live_server)
    show_new_token(page, live_server, integration)
    copy = page.locator('.copy-button[data-copy="token-value"]')
    copy.click()
    expect(copy).to_have_text("Copied")

    assert dialogs_on_close(page) == []
