"""A public status update asks first: customers will see it. In a real browser, with htmx and
the keyboard, and with JavaScript off."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from incidents.models import StatusUpdate
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def write_public_update(page: Page, message: str) -> None:
    page.get_by_role("textbox", name="Status update").fill(message)
    page.get_by_label("Public", exact=True).check()
    page.get_by_role("button", name="Post update").click()


def test_a_public_update_is_posted_only_after_the_question(live_server, context, rosa, artifacts):
    incident = declare(rosa, title="Checkout is failing")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.evaluate("window.tocsinMarker = 'no reload'")

    write_public_update(page, "Card payments fail; we are rolling back.")

    question = page.get_by_role("alertdialog", name="Post this update publicly?")
    expect(question).to_be_visible()
    expect(question).to_contain_text("Customers will see it on the status page")
    expect(question).to_contain_text("Card payments fail; we are rolling back.")
    expect(question).to_be_focused()
    assert not StatusUpdate.objects.exists()
    # caret="initial": hiding the caret injects a style, which the CSP refuses.
    page.screenshot(path=str(artifacts / "public-update-question.png"), caret="initial")

    # From the question, the keyboard reaches its button and posts.
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Post publicly")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#timeline")).to_contain_text(
        "Rosa Responder posted a public update: Card payments fail; we are rolling back."
    )
    expect(question).to_have_count(0)
    assert list(StatusUpdate.objects.values_list("message", "public")) == [
        ("Card payments fail; we are rolling back.", True)
    ]
    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert problems == []


def test_an_internal_update_is_posted_at_once(live_server, context, rosa):
    incident = declare(rosa, title="Checkout is failing")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")

    page.get_by_role("textbox", name="Status update").fill("Rolling back the 14:02 deploy.")
    page.get_by_role("button", name="Post update").click()

    expect(page.locator("#timeline")).to_contain_text("posted an internal update")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert StatusUpdate.objects.get().public is False
    assert problems == []


@pytest.fixture
def no_script(browser) -> BrowserContext:
    context = browser.new_context(
        java_script_enabled=False,
        timezone_id="Europe/Paris",
        viewport={"width": 1280, "height": 900},
    )
    yield context
    context.close()


def test_without_javascript_the_question_is_a_page_and_its_button_posts(
    live_server, no_script, rosa
):
    incident = declare(rosa, title="Checkout is failing")
    # Signed in through Django's session: the sign-in page's zone check needs JavaScript.
    client = Client()
    client.force_login(rosa)
    no_script.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = no_script.new_page()
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")

    write_public_update(page, "We are on it.")

    question = page.get_by_role("alertdialog", name="Post this update publicly?")
    expect(question).to_be_visible()
    assert not StatusUpdate.objects.exists()

    page.get_by_role("button", name="Post publicly").click()

    expect(page.locator("#timeline")).to_contain_text("posted a public update: We are on it.")
    assert StatusUpdate.objects.get().public is True
