"""At 390 by 844 nothing a person needs is cut off: the main menu shows every entry, and
schedule names wrap rather than run off the screen. On a laptop an admin's long menu wraps
too, rather than hiding its last entries in a row that scrolls."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role
from tests.e2e.test_browser import sign_in
from tests.factories import TeamFactory
from tests.oncall.factories import weekly_schedule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTH = 390
LONG_NAME = "Payments platform primary on-call rotation for checkout and billing"


@pytest.fixture
def phone(browser: Browser):
    context = browser.new_context(
        timezone_id="Europe/Paris", viewport={"width": WIDTH, "height": 844}
    )
    yield context
    context.close()


def cut_off(page: Page, selector: str, width: int = WIDTH) -> list[str]:
    """The texts of the elements matching `selector` that overflow their box or the screen,
    or sit outside a box that clips them (a row that scrolls sideways)."""
    return page.eval_on_selector_all(
        selector,
        """(elements, width) => elements
            .filter((e) => {
              const box = e.getBoundingClientRect();
              const clip = e.parentElement.getBoundingClientRect();
              return box.left < 0 || box.right > width + 0.5 || e.scrollWidth > e.clientWidth + 1
                || box.left < clip.left - 0.5 || box.right > clip.right + 0.5;
            })
            .map((e) => e.textContent.trim())""",
        width,
    )


def test_the_phone_menu_shows_every_entry(live_server, phone, rosa, artifacts):
    rosa.role = Role.ADMIN
    rosa.is_staff = True
    rosa.save(update_fields=["role", "is_staff"])
    page = phone.new_page()
    sign_in(page, live_server)

    assert page.locator(".site-nav a").count() == 14
    assert cut_off(page, ".site-nav a") == []
    page.screenshot(path=str(artifacts / "phone-menu.png"))


def test_an_admins_menu_shows_every_entry_on_a_laptop(live_server, context, rosa, artifacts):
    rosa.role = Role.ADMIN
    rosa.is_staff = True
    rosa.save(update_fields=["role", "is_staff"])
    page = context.new_page()
    sign_in(page, live_server)

    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.locator(".site-nav a").count() == 14
        assert cut_off(page, ".site-nav a", width) == [], width
    page.screenshot(path=str(artifacts / "laptop-menu.png"))


def test_schedule_names_are_not_cut_off_on_a_phone(live_server, phone, rosa, alice, artifacts):
    team = TeamFactory(name="Payments")
    schedule = weekly_schedule(
        [alice], start=datetime.now(UTC) - timedelta(days=1), team=team, name=LONG_NAME
    )
    page = phone.new_page()
    sign_in(page, live_server)

    page.goto(f"{live_server.url}{reverse('oncall:schedule-list')}")
    page.screenshot(path=str(artifacts / "phone-schedules.png"), full_page=True)
    assert cut_off(page, f'a:text-is("{LONG_NAME}")') == []

    page.goto(f"{live_server.url}{reverse('oncall:schedule-detail', args=[schedule.pk])}")
    page.screenshot(path=str(artifacts / "phone-schedule.png"), full_page=True)
    assert cut_off(page, "h1") == []
    assert cut_off(page, ".breadcrumbs") == []

    page.goto(f"{live_server.url}{reverse('incidents:list')}")
    expect(page.locator("#oncall-now")).to_contain_text(LONG_NAME)
    page.screenshot(path=str(artifacts / "phone-incidents.png"), full_page=True)
    assert cut_off(page, "#oncall-now a") == []
