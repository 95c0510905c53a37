"""The incident page's paging panel in a real browser: more people paged after the
acknowledgement and after a reopen, level 1 shown paged within seconds of declaring (a real
Celery worker pages it) without a reload, Escalate asking first with and without JavaScript,
and the paging state above the timeline on a phone."""

import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from incidents import services as incident_services
from oncall.models import Notification
from oncall.services import escalations
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare
from tests.oncall.cluster import Cluster
from tests.oncall.factories import pageable, policy

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def open_incident(page: Page, live_server, incident) -> None:
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    expect(page.get_by_role("heading", name=incident.title)).to_be_visible()


def page_a_person(page: Page, name: str) -> None:
    panel = page.locator("#paging-panel")
    panel.get_by_label("Person").select_option(label=name)
    panel.get_by_role("button", name="Page a person").click()
    expect(panel.locator("#paging-notice")).to_have_text(f"Paged {name}.")
    # The re-rendered panel puts focus on what happened, not back on the page's body.
    expect(panel.locator("#paging-notice")).to_be_focused()


def test_page_a_person_after_acknowledging_and_after_reopening(live_server, context, rosa):
    pageable("dba")
    pageable("netops")
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV3")
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    open_incident(page, live_server, incident)
    page.evaluate("window.tocsinMarker = 'no reload'")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    page_a_person(page, "Dba")
    expect(page.locator("#paging-panel .paging-person__name")).to_have_text(["Dba"])
    expect(page.locator("#paging-panel")).to_contain_text("paged by Rosa Responder")

    page.locator("summary", has_text="Resolve…").click()
    page.get_by_label("Resolution note").fill("Rolled back.")
    page.get_by_role("button", name="Resolve incident").click()
    expect(page.locator("#incident-status")).to_have_text("Resolved")
    expect(page.get_by_role("button", name="Page a person")).to_have_count(0)
    expect(page.locator("#paging-closed")).to_contain_text("no more pages are sent")

    page.locator("summary", has_text="Reopen…").click()
    page.get_by_role("button", name="Reopen incident").click()
    expect(page.locator("#incident-status")).to_have_text("Investigating")
    page_a_person(page, "Netops")

    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert sorted(
        Notification.objects.filter(incident=incident).values_list("user__username", flat=True)
    ) == ["dba", "netops"]
    assert problems == []


@pytest.fixture
def worker(tmp_path, twilio_stub):
    """Real Celery workers on the broker the live server publishes to (this test run's
    REDIS_URL), with nothing left queued from earlier runs; the test starts them."""
    from config.celery import app

    app.control.purge()
    env = {
        "TWILIO_API_URL": twilio_stub.url,
        "TWILIO_ACCOUNT_SID": twilio_stub.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_stub.auth_token,
        "TWILIO_FROM_NUMBER": twilio_stub.from_number,
        "NOTIFIER_TIMEOUT": "3",
    }
    cluster = Cluster(tmp_path, SimpleNamespace(url=settings.REDIS_URL), env)  # type: ignore[arg-type]
    yield cluster
    cluster.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_panel_shows_level_1_paged_within_seconds_of_declaring(
    live_server, context, rosa, worker, twilio_stub
):
    policy((5, [pageable("alice", kind="sms", address="+14155550101")]), (10, [pageable("bob")]))
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    page.get_by_role("link", name="Declare incident").click()
    page.get_by_label("Title").fill("Checkout is failing")
    page.get_by_label(re.compile("Major functionality degraded")).check()
    page.get_by_role("button", name="Declare incident").click()
    expect(page.get_by_role("heading", name="Checkout is failing")).to_be_visible()
    page.evaluate("window.tocsinMarker = 'no reload'")

    # The start_escalation task waits in the queue: the panel says what is happening, not
    # that nothing pages.
    state = page.locator("#paging-state")
    expect(state).to_contain_text("the escalation policy's first level is being paged")
    expect(state).not_to_contain_text("No escalation policy")

    worker.start_worker("w1")

    # The worker pages level 1 within a second of starting; the panel follows on its own.
    expect(state).to_contain_text("level 1 of 2 paged", timeout=15_000)
    person = page.locator("#paging-panel .paging-person").first
    expect(person).to_contain_text("Alice")
    expect(person).to_contain_text("level 1")
    expect(person.locator(".paging-page__state")).to_have_text(
        re.compile(r"sent at \d\d:\d\d"), timeout=15_000
    )
    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert len(twilio_stub.messages_to("+14155550101")) == 1
    assert problems == []


def test_escalate_asks_first_with_and_without_javascript(live_server, browser, rosa, artifacts):
    policy((5, [pageable("alice")]), (10, [pageable("bob")]))
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV3")
    for javascript in (True, False):
        context = browser.new_context(
            timezone_id="Europe/Paris",
            viewport={"width": 1280, "height": 900},
            java_script_enabled=javascript,
        )
        page = context.new_page()
        if javascript:
            sign_in(page, live_server)
        else:
            page.goto(f"{live_server.url}/accounts/login/")
            page.get_by_label("Username").fill("rosa")
            page.get_by_label("Password").fill("correct-horse-battery")
            page.get_by_role("button", name="Sign in").click()
        open_incident(page, live_server, incident)
        panel = page.locator("#paging-panel")
        # Nothing runs the policy's first level here (no worker): it is still the next one.
        level = 1
        confirm = panel.get_by_role("button", name=f"Page level {level} now")
        expect(confirm).to_be_hidden()

        panel.get_by_text("Escalate…").click()

        expect(confirm).to_be_visible()
        expect(panel).to_contain_text(f"Pages level {level} of")
        if javascript:
            page.screenshot(path=str(artifacts / "incident-paging-escalate.png"))
        confirm.click()
        done = page.get_by_text(f"Escalated: level {level} of Payments is paged now.")
        expect(done).to_be_visible()
        context.close()


def test_at_phone_size_the_paging_state_comes_before_the_timeline(
    live_server, browser, rosa, artifacts
):
    policy((5, [pageable("alice")]), (10, [pageable("bob")]))
    incident = declare(rosa, title="Checkout is failing", severity_name="SEV2")
    escalations.escalation_start(incident=incident)
    escalations.tick()
    for n in range(30):
        incident_services.incident_add_note(
            incident=incident, actor=rosa, text=f"Looked at the card form, step {n}."
        )
    context = browser.new_context(
        timezone_id="Europe/Paris",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    open_incident(page, live_server, incident)

    state = page.locator("#paging-state")
    expect(state).to_contain_text("level 1 of 2 paged")
    state_box = state.bounding_box()
    timeline_box = page.locator("#timeline").bounding_box()
    assert state_box is not None and timeline_box is not None
    # Above the timeline's first entry, and within the first two screens.
    assert state_box["y"] + state_box["height"] <= timeline_box["y"]
    assert state_box["y"] < 2 * 844
    page.screenshot(path=str(artifacts / "incident-paging-phone.png"))
    page.screenshot(path=str(artifacts / "incident-paging-phone-full.png"), full_page=True)
    context.close()
    assert problems == []
