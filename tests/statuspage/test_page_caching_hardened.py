"""statuspage.caching against made-up addresses and under threads: an unknown incident's 404 is
cached briefly (so each made-up code is not a query and a render), and the process's own
entries survive gunicorn's threads evicting them at once."""

import sys
import threading

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from statuspage import caching, versions
from statuspage.models import PublicStatus
from tests.statuspage.sppage_fixtures import incident

UNKNOWN = "0123456789ab"


def test_an_opted_in_404_is_cached_without_validators() -> None:
    calls = 0

    def missing() -> HttpResponse:
        nonlocal calls
        calls += 1
        return HttpResponse("gone", status=404)

    request = RequestFactory().get("/status/incidents/x/")
    first = caching.cached_response(request, ["x"], missing, cache_not_found=True)
    again = caching.cached_response(request, ["x"], missing, cache_not_found=True)
    assert (first.status_code, again.status_code) == (404, 404)
    assert again.content == first.content == b"gone"
    assert calls == 1
    # A validator would let a conditional GET turn the 404 into a 304.
    assert "ETag" not in again and "Last-Modified" not in again
    assert again["Cache-Control"] == f"public, max-age={caching.NOT_FOUND_TTL}"
    # Only briefly, and never among the process's own entries (the page's renders live there).
    key = cache.make_and_validate_key(f"{caching.PREFIX}body:{caching.render_key(['x'])}")
    assert 0 < cache._cache.get_client(key).ttl(key) <= caching.NOT_FOUND_TTL
    assert not any(held[1]["status"] == 404 for held in caching._local.values())


@pytest.mark.django_db
def test_an_unknown_incident_costs_no_query_the_second_time(django_assert_num_queries) -> None:
    anonymous = Client()
    assert anonymous.get(f"/status/incidents/{UNKNOWN}/").status_code == 404
    with django_assert_num_queries(0):
        again = anonymous.get(f"/status/incidents/{UNKNOWN}/")
    assert again.status_code == 404
    assert b"There is nothing at this address." in again.content
    assert not again.cookies

    # Publishing bumps the page's version, which names the cached 404: the page shows at once.
    incident(
        "Now it exists", code=UNKNOWN, updates=[(PublicStatus.INVESTIGATING, "x", timezone.now())]
    )
    versions._set_new_version()
    assert anonymous.get(f"/status/incidents/{UNKNOWN}/").status_code == 200


def test_threads_holding_many_renders_at_once_do_not_trip_over_each_other() -> None:
    entry: caching._Entry = {"status": 200, "content": b"", "gzipped": b"", "headers": {}}
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def hammer(worker: int) -> None:
        start.wait()
        try:
            for n in range(50000):
                caching._hold(f"{worker}-{n}", entry, 0.0)
        except BaseException as error:
            errors.append(error)

    interval = sys.getswitchinterval()
    # Switch threads as often as the interpreter allows, so evictions interleave.
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=hammer, args=(w,)) for w in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        held = len(caching._local)
        caching._local.clear()
    assert errors == []
    assert held <= caching.LOCAL_ENTRIES
