"""The API's Swagger UI in a real browser, under the strict CSP of every page."""

import pytest

pytestmark = [
    pytest.mark.browser,
    # The live server needs a committing database; serialized_rollback restores the seeded
    # rows for the transactional tests that run after this one.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_api_docs_render_every_operation_without_csp_violations(browser, live_server):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => {"
        "  console.error('CSP violation: ' + event.violatedDirective);"
        "});"
    )
    try:
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock", timeout=15_000)
        operations = page.locator(".opblock").count()
    finally:
        page.close()

    assert operations >= 15
    assert problems == []
