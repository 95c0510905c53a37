"""Half a hosted Statuspage configuration is refused at start (`manage.py check`)."""

import pytest
from django.core.checks import run_checks


def hosted_errors() -> list[str]:
    return sorted(m.id for m in run_checks() if m.id and m.id.startswith("statuspage.E1"))


def test_neither_page_nor_key_is_fine(settings):
    settings.STATUSPAGE_HOSTED_PAGE_ID = ""
    settings.STATUSPAGE_HOSTED_API_KEY = ""
    assert hosted_errors() == []


def test_both_page_and_key_are_fine(settings):
    settings.STATUSPAGE_HOSTED_PAGE_ID = "kctbh9vrtdwd"
    settings.STATUSPAGE_HOSTED_API_KEY = "0123456789abcdef"
    assert hosted_errors() == []


@pytest.mark.parametrize(
    ("page_id", "api_key", "missing"),
    [
        ("kctbh9vrtdwd", "", "STATUSPAGE_HOSTED_API_KEY"),
        ("", "0123456789abcdef", "STATUSPAGE_HOSTED_PAGE_ID"),
    ],
)
def test_a_page_without_a_key_or_a_key_without_a_page_is_refused(
    settings, page_id, api_key, missing
):
    settings.STATUSPAGE_HOSTED_PAGE_ID = page_id
    settings.STATUSPAGE_HOSTED_API_KEY = api_key

    [error] = [m for m in run_checks() if m.id == "statuspage.E101"]

    assert error.msg.startswith(f"{missing} is empty")
    assert "0123456789abcdef" not in error.msg


def test_an_api_url_that_is_not_http_is_refused(settings):
    settings.STATUSPAGE_HOSTED_PAGE_ID = "kctbh9vrtdwd"
    settings.STATUSPAGE_HOSTED_API_KEY = "0123456789abcdef"
    settings.STATUSPAGE_HOSTED_API_URL = "api.statuspage.io"
    assert hosted_errors() == ["statuspage.E102"]
