"""Hostile addresses on the public page and its sign-up links: each is a 404 (or the view's own
4xx), never a 500. A NUL cannot be stored in PostgreSQL's text, so a NUL reaching a query was a
DataError and a 500; the URL converters (statuspage.urls) keep such paths from any view."""

import io

import pytest
from django.test import Client

from config.wsgi import application
from statuspage.models import ComponentState
from tests.statuspage.sppage_fixtures import component
from tests.statuspage.test_page_wsgi import keep_test_connection  # noqa: F401

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def anonymous() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def website():
    return component("Website", state=ComponentState.OPERATIONAL)


HOSTILE_PATHS = [
    "/status/incidents/a%00b/",
    "/status/incidents/%00/",
    "/status/incidents/" + "a" * 5000 + "/",
    "/status/incidents/%C3%A9t%C3%A9/",
    "/status/incidents/ABCDEF012345/",
    "/status/history/2026-13/",
    "/status/history/0000-01/",
    "/status/history/9999-99/",
    "/status/history/9999-12/",
    "/status/history/1999-12/",
    "/status/history/2026-00/",
    # Arabic-Indic digits: \d matches them and int() reads them.
    "/status/history/%D9%A2%D9%A0%D9%A2%D9%A6-%D9%A0%D9%A1/",
    "/status/history/2026-1%00/",
    "/status/unsubscribe/a%00/",
    "/status/unsubscribe/" + "a" * 65 + "/",
    "/status/subscribe/confirm/a%00b/",
    "/status/manage/components/a%00b/",
    "/status/manage/groups/a%00b/",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_hostile_address_is_refused(anonymous, website, path, method) -> None:
    # The test client raises what a view raised: a DataError fails here, not as a 500 status.
    # A POST may be refused sooner, for its missing CSRF token or its method.
    response = getattr(anonymous, method)(path)
    assert response.status_code == 404 if method == "get" else 400 <= response.status_code < 500


def test_unsubscribe_with_a_nul_is_not_found_both_ways(anonymous) -> None:
    assert anonymous.get("/status/unsubscribe/a%00/").status_code == 404
    assert (
        anonymous.post("/status/unsubscribe/a%00/", {"List-Unsubscribe": "One-Click"}).status_code
        == 404
    )


HOSTILE_QUERIES = [
    "/status/history/?page=" + "9" * 5000,
    "/status/history/?page=99999999999999999999",
    "/status/history/?page=-3",
    "/status/history/?page=%00",
    "/status/history/?page=%D9%A3",
    "/status/history/?page=1e9",
    "/status/?x=%00",
    "/status/api/v2/summary.json?callback=%00",
    "/status/history.atom?page=%00",
    "/status/history.rss?%00=%00",
]


def wsgi_get(path_info: str, query: str = "") -> int:
    """The status of a GET through config.wsgi, given PATH_INFO and QUERY_STRING as a WSGI
    server passes them (percent-decoded path, raw query)."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
    }
    answer: dict[str, int] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *args: object) -> None:
        answer["status"] = int(status.split()[0])

    chunks = application(environ, start_response)
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return answer["status"]


@pytest.mark.parametrize("path", HOSTILE_QUERIES)
def test_a_hostile_query_string_still_gets_the_page(website, path) -> None:
    location, _, query = path.partition("?")
    assert wsgi_get(location, query) == 200


@pytest.mark.parametrize(
    "path",
    [
        "/status/incidents/a\x00b/",
        "/status/history/2026-13/",
        "/status/history/9999-99/",
        "/status/history/2026-0\x00/",
    ],
)
def test_a_hostile_address_through_the_public_stack_is_a_404(website, path) -> None:
    # As a WSGI server passes it: PATH_INFO already decoded, the NUL in it.
    assert wsgi_get(path) == 404
