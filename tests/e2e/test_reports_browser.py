"""The monthly report in a real browser: a manager opens it from the menu, switches month with
the picker and the links beside it, and downloads the month's incidents as CSV."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from incidents.services import incident_acknowledge, incident_resolve
from reports.months import Month
from tests.e2e.test_browser import PASSWORD, watch_for_problems
from tests.factories import UserFactory, declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def mona(transactional_db: None) -> User:
    return UserFactory(username="mona", first_name="Mona", last_name="Manager", role=Role.MANAGER)


@pytest.fixture
def months(rosa: User) -> tuple[Month, Month]:
    """An incident this month, and one last month that was acknowledged and resolved."""
    this_month = Month.containing(timezone.now())
    last_month = this_month.previous()
    declare(rosa, title="Checkout is failing", severity_name="SEV1")
    began = last_month.start() + timedelta(days=2, hours=10)
    earlier = declare(
        rosa, title="Search is slow", severity_name="SEV3", started_at=began, detected_at=began
    )
    incident_acknowledge(actor=rosa, incident=earlier)
    incident_resolve(actor=rosa, incident=earlier, resolution="Added an index.")
    return this_month, last_month


def sign_in_as_mona(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    # timezone.js stores the browser's zone in a cookie and reloads once to show it.
    expect(page.locator('html[data-tz="Europe/Paris"]')).to_have_count(1)
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    # The heading shows before the deferred scripts have run and htmx has wired the page;
    # an in-page action taken before then would send nothing.
    page.wait_for_load_state("load")


def test_open_the_report_switch_month_and_download_the_csv(
    live_server, context, mona, months, artifacts
):
    this_month, last_month = months
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in_as_mona(page, live_server)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page).to_have_url(f"{live_server.url}/reports/monthly/{this_month}/")
    expect(page.get_by_role("heading", name=f"Incident report: {this_month.label}")).to_be_visible()
    incidents = page.locator("#report-incidents")
    expect(incidents).to_contain_text("Checkout is failing")
    expect(incidents).not_to_contain_text("Search is slow")
    expect(page.get_by_role("img", name="Incidents per month")).to_be_visible()
    expect(page.get_by_role("img", name="Time to resolve per month")).to_be_visible()
    # The current month is the latest: there is no month after it to go to.
    expect(page.locator("#report-next")).to_have_count(0)

    page.get_by_label("Month", exact=True).fill(str(last_month))
    page.get_by_role("button", name="Show").click()

    expect(page).to_have_url(f"{live_server.url}/reports/monthly/{last_month}/")
    expect(page.get_by_role("heading", name=f"Incident report: {last_month.label}")).to_be_visible()
    expect(page.get_by_label("Month", exact=True)).to_have_value(str(last_month))
    expect(incidents).to_contain_text("Search is slow")
    expect(incidents).not_to_contain_text("Checkout is failing")
    expect(page.locator('#report-summary [data-figure="incidents"]')).to_have_text("1")
    # The chart's data, for those who cannot see it, one click away.
    page.get_by_text("Incidents per month as a table").click()
    expect(page.locator("#trend-incidents-table tbody tr").last).to_contain_text(
        re.compile(rf"{last_month.label}\s*1")
    )
    page.screenshot(path=str(artifacts / "report-month.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"tocsin-incidents-{last_month}.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    header, *incident_rows = rows
    assert header[:4] == ["reference", "title", "severity", "status"]
    assert len(incident_rows) == 1
    assert incident_rows[0][:4] == ["INC-2", "Search is slow", "SEV3", "resolved"]

    page.locator("#report-next").click()
    expect(page).to_have_url(f"{live_server.url}/reports/monthly/{this_month}/")
    page.set_viewport_size({"width": 390, "height": 844})
    # On a phone the tables become cards: nothing runs off the side of the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "report-phone.png"), full_page=True)

    assert problems == []


def test_a_responder_finds_no_report(live_server, context, rosa):
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("rosa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports")
    ).to_have_count(0)

    response = page.goto(f"{live_server.url}/reports/")

    assert response is not None and response.status == 403
    refused = "You can\N{RIGHT SINGLE QUOTATION MARK}t do that"
    expect(page.get_by_role("heading", name=refused)).to_be_visible()
