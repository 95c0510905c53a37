"""Relative times move on without a reload (static/js/ticking.js)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_open_for_and_ages_tick_every_minute(live_server, context, rosa):
    incident = declare(rosa, title="Checkout is failing")
    context.clock.install()
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    open_for = page.locator('time[data-tick="since"]')
    page.clock.run_for("03:00")
    expect(open_for).to_have_text("3 min")

    page.goto(f"{live_server.url}{reverse('incidents:list')}")
    age = page.locator('time[data-tick="age"]')
    page.clock.run_for("02:00")
    # The server drew the list just now, whatever the page's clock says: two minutes on.
    expect(age).to_have_text("2 min ago")
    assert problems == []
