"""An admin edits a postmortem template in a browser: the preview follows the typing against a
resolved incident, a failing line shows as "Line N: …", and a template that does not compile
is not saved."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from incidents.services import incident_resolve
from postmortems.models import PostmortemTemplate
from postmortems.services.postmortems import template_default
from tests.e2e.test_browser import sign_in, watch_for_problems
from tests.factories import declare

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed data; serialized_rollback restores the seeded
    # severities and postmortem policies for the tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_preview_follows_the_template_as_it_is_typed(live_server, context, rosa, artifacts):
    rosa.role = Role.ADMIN
    rosa.save(update_fields=["role"])
    incident = declare(rosa, title="Checkout is failing")
    incident_resolve(incident=incident, actor=rosa, resolution="Rolled back.")
    template = template_default()
    page = context.new_page()
    problems = watch_for_problems(page)
    sign_in(page, live_server)

    page.goto(f"{live_server.url}/postmortems/templates/")
    page.get_by_role("link", name=template.name).click()

    document = page.locator("#template-document")
    expect(document.locator("h1")).to_have_text(f"Postmortem: {incident.ref} - Checkout is failing")
    expect(document.locator("h2").first).to_have_text("Executive Summary")
    page.screenshot(path=artifacts / "postmortem-template-editor.png", full_page=True)

    body = page.get_by_label("Template")
    body.fill("# Short {{ incident.ref }}\n\n## Impact\n{{ incident.nope }}\n")
    expect(page.locator("#template-problem")).to_have_text(
        "Line 4: 'dict object' has no attribute 'nope'"
    )

    body.fill("# Short {{ incident.ref }}\n\n## Impact\n<!-- required -->\nWords.\n")
    expect(document.locator("h1")).to_have_text(f"Short {incident.ref}")
    expect(page.locator("#template-sections")).to_have_text("Impact required")

    body.fill("# Short\n{% for x in timeline %}\n")
    page.get_by_role("button", name="Save template").click()

    expect(page.locator(".field--invalid .error")).to_contain_text("Line 2: Unexpected end")
    template.refresh_from_db()
    assert template.body.startswith("# Postmortem: {{ incident.ref }}")
    assert PostmortemTemplate.objects.count() == 1
    # The failing preview and the refused save were answered 400 on purpose.
    assert [problem for problem in problems if "status of 400" not in problem] == []
