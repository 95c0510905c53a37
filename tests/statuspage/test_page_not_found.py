"""An unknown address among the public reads, through config.wsgi's cookie-less stack: the
page's own 404 (problem details under the API), with no CSRF cookie, no Vary: Cookie, no
nonce and nothing of the signed-in site. Django's 404 page would set all of those."""

import json

import pytest

from config.wsgi import is_public
from statuspage.views import is_public_read
from tests.statuspage.test_page_wsgi import call, keep_test_connection  # noqa: F401

pytestmark = [pytest.mark.django_db]


def cookie_less(answer: dict) -> None:
    assert not [value for name, value in answer["headers"] if name.lower() == "set-cookie"]
    assert "cookie" not in answer["named"].get("vary", "").lower()
    assert "nonce-" not in answer["named"].get("content-security-policy", "")


@pytest.mark.parametrize("path", ["/status/historyfoo", "/status/history/2026-12/x/"])
def test_an_unknown_page_address_gets_the_pages_own_404(path) -> None:
    answer = call(path, cookie="sessionid=whatever; csrftoken=abc")
    assert answer["status"] == 404
    cookie_less(answer)
    body = answer["body"].decode()
    assert "There is nothing at this address." in body
    assert "Sign out" not in body and "csrfmiddlewaretoken" not in body


def test_an_unknown_api_address_gets_json() -> None:
    answer = call("/status/api/v2/nope.json", cookie="sessionid=whatever")
    assert answer["status"] == 404
    cookie_less(answer)
    assert answer["named"]["content-type"] == "application/problem+json"
    assert json.loads(answer["body"])["status"] == 404
    assert answer["named"]["access-control-allow-origin"] == "*"


def test_elsewhere_the_sites_404_is_unchanged(client) -> None:
    assert client.get("/status/nowhere/").status_code == 404
    assert b"There is nothing at this address." not in client.get("/nowhere/").content


@pytest.mark.parametrize(
    "path",
    [
        "/status/",
        "/status/history/",
        "/status/historyfoo",
        "/status/history.atom",
        "/status/incidents/abc/",
        "/status/api/v2/nope.json",
        "/status/subscribe/",
        "/status/unsubscribe/x/",
        "/status/manage/",
        "/status/nowhere",
        "/incidents/",
    ],
)
def test_the_page_and_the_wsgi_entry_agree_on_what_is_public(path) -> None:
    assert is_public_read(path) == is_public(path)
