"""An incident that relapses moves back: from monitoring to investigating, on the page, without
a reload, and the timeline says so."""

import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.models import Incident, Status
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_responder_moves_a_relapsing_incident_back_to_investigating(live_server, context, rosa):
    incident = declare(rosa, title="Checkout is failing")
    services.incident_set_status(incident=incident, actor=rosa, status=Status.MONITORING)
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    page.evaluate("window.tocsinMarker = 'no reload'")

    back = page.get_by_role("group", name="Back to")
    expect(back.get_by_role("button", name="Investigating")).to_be_visible()
    back.get_by_role("button", name="Investigating").click()

    expect(page.locator("#timeline")).to_contain_text(
        f"moved {incident.ref} back from monitoring to investigating"
    )
    expect(page.get_by_role("group", name="Move to")).to_contain_text("Monitoring")
    assert Incident.objects.get(pk=incident.pk).status == Status.INVESTIGATING
    assert page.evaluate("window.tocsinMarker") == "no reload"
    assert problems == []
