"""The render cache behind the public page and its JSON (statuspage.caching)."""

import gzip
import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils.http import http_date

from statuspage import caching, versions


class Renderer:
    """A render function that counts its calls."""

    def __init__(self, body: str = "<p>hello</p>") -> None:
        self.body = body
        self.calls = 0

    def __call__(self) -> HttpResponse:
        self.calls += 1
        return HttpResponse(f"{self.body} #{self.calls}", content_type="text/html")


def get(render: Renderer, *, parts: tuple[str, ...] = ("page",), **headers: str) -> HttpResponse:
    request = RequestFactory().get("/status/", headers=headers)
    return caching.cached_response(request, parts, render)


def bump_now() -> None:
    # versions.bump() waits for the commit; these tests hold no transaction of interest.
    versions._set_new_version()


def test_a_second_request_is_served_from_the_cache() -> None:
    render = Renderer()
    first, second = get(render), get(render)
    assert render.calls == 1
    assert first.content == second.content == b"<p>hello</p> #1"
    assert second["Content-Type"] == "text/html"


@override_settings(STATUSPAGE_MAX_AGE=17)
def test_the_response_is_public_with_validators() -> None:
    response = get(Renderer())
    assert response["Cache-Control"] == "public, max-age=17"
    assert response["ETag"].startswith('"') and len(response["ETag"]) > 20
    assert response["Last-Modified"].endswith("GMT")
    assert "Cookie" not in response.get("Vary", "")
    assert not response.cookies


def test_if_none_match_is_answered_304_without_rendering() -> None:
    render = Renderer()
    etag = get(render)["ETag"]
    answer = get(render, If_None_Match=etag)
    assert answer.status_code == 304
    assert answer.content == b""
    assert answer["ETag"] == etag
    assert answer["Cache-Control"].startswith("public")
    assert render.calls == 1


def test_if_none_match_is_answered_304_after_the_body_expired() -> None:
    render = Renderer()
    etag = get(render)["ETag"]
    assert cache.delete(f"{caching.PREFIX}body:{etag.strip('"')}")
    caching._local.clear()
    assert get(render, If_None_Match=etag).status_code == 304
    assert render.calls == 1


def test_if_modified_since_is_answered_304() -> None:
    render = Renderer()
    last_modified = get(render)["Last-Modified"]
    assert get(render, If_Modified_Since=last_modified).status_code == 304
    assert render.calls == 1


def test_an_older_if_modified_since_gets_the_page() -> None:
    render = Renderer()
    get(render)
    answer = get(render, If_Modified_Since=http_date(datetime(2020, 1, 1, tzinfo=UTC).timestamp()))
    assert answer.status_code == 200


def test_a_version_bump_invalidates_the_render_and_its_etag() -> None:
    render = Renderer()
    before = get(render)
    bump_now()
    after = get(render, If_None_Match=before["ETag"])
    assert after.status_code == 200
    assert after.content == b"<p>hello</p> #2"
    assert after["ETag"] != before["ETag"]


def test_the_key_parts_keep_renders_apart() -> None:
    render = Renderer()
    one, two = get(render, parts=("page", "1")), get(render, parts=("page", "2"))
    assert render.calls == 2
    assert one["ETag"] != two["ETag"]


def test_the_key_changes_with_the_day_in_the_page_zone(clock) -> None:
    clock.now = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    with override_settings(STATUSPAGE_TIME_ZONE="Europe/Paris"):
        # 23:30 in Paris, then 00:30 the next day: a new day, a new render.
        late = caching.render_key(["page"], version="v1")
        clock.advance(minutes=60)
        next_day = caching.render_key(["page"], version="v1")
    clock.now = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    with override_settings(STATUSPAGE_TIME_ZONE="UTC"):
        utc_late = caching.render_key(["page"], version="v1")
        clock.advance(minutes=60)
        utc_later = caching.render_key(["page"], version="v1")
    assert late != next_day
    assert utc_late == utc_later


def test_errors_are_not_cached() -> None:
    calls = 0

    def failing() -> HttpResponse:
        nonlocal calls
        calls += 1
        return HttpResponse("no", status=404)

    request = RequestFactory().get("/status/")
    assert caching.cached_response(request, ["x"], failing).status_code == 404
    assert caching.cached_response(request, ["x"], failing).status_code == 404
    assert calls == 2
    assert "ETag" not in caching.cached_response(request, ["x"], failing)


def test_with_the_cache_down_the_page_is_still_served(redis_refused) -> None:
    render = Renderer()
    first, second = get(render), get(render)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.content.startswith(b"<p>hello</p>")
    # The fallback version lasts a few seconds; this process reuses its render meanwhile.
    assert render.calls == 1


def test_with_the_cache_down_a_change_is_still_saved(redis_refused, caplog) -> None:
    # A publishing service bumps the version after its commit; the write must not fail for it.
    bump_now()
    assert "status page version not bumped" in caplog.text


def test_a_fault_that_is_not_the_caches_is_not_hidden(monkeypatch) -> None:
    def broken(keys: list[str]) -> dict[str, object]:
        raise TypeError("a bug of ours")

    monkeypatch.setattr(cache, "get_many", broken)
    with pytest.raises(TypeError):
        get(Renderer())


def test_a_process_serves_its_own_copy_without_fetching_the_body() -> None:
    render = Renderer()
    etag = get(render)["ETag"]
    assert cache.delete(f"{caching.PREFIX}body:{etag.strip('"')}")
    again = get(render)
    assert again.content == b"<p>hello</p> #1"
    assert render.calls == 1


def test_another_process_takes_the_render_from_the_shared_cache() -> None:
    render = Renderer()
    first = get(render)
    caching._local.clear()
    again = get(render)
    assert render.calls == 1
    assert again.content == first.content
    assert again["Last-Modified"] == first["Last-Modified"]


def test_a_browser_gets_the_render_compressed_with_a_weak_etag() -> None:
    render = Renderer("<p>" + "all systems operational " * 200 + "</p>")
    plain = get(render)
    compressed = get(render, Accept_Encoding="gzip, deflate, br")
    assert render.calls == 1
    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content) == plain.content
    assert len(compressed.content) < len(plain.content) / 5
    assert compressed["ETag"] == "W/" + plain["ETag"]
    assert "Accept-Encoding" in compressed["Vary"]
    assert "Content-Encoding" not in plain


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip;q=0", False),
        ("br, gzip; q=0.0", False),
        ("gzip;q=0.5, br", True),
        ("GZIP", True),
        ("deflate, br", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_gzip_only_where_the_client_accepts_it(accept_encoding: str, gzipped: bool) -> None:
    response = get(Renderer(), Accept_Encoding=accept_encoding)
    assert ("Content-Encoding" in response) is gzipped


def test_either_etag_revalidates_either_variant() -> None:
    render = Renderer()
    strong = get(render)["ETag"]
    weak = get(render, Accept_Encoding="gzip")["ETag"]
    assert get(render, Accept_Encoding="gzip", If_None_Match=strong).status_code == 304
    assert get(render, If_None_Match=weak).status_code == 304


def test_another_processs_change_is_seen_within_a_second_this_ones_at_once() -> None:
    render = Renderer()
    first = get(render)["ETag"]
    # Another web process bumped the version: this one remembers its read for a second.
    cache.set(versions.KEY, "set-by-another-process", timeout=None)
    assert get(render)["ETag"] == first
    time.sleep(versions.LOCAL_SECONDS + 0.05)
    seen = get(render)["ETag"]
    assert seen != first
    bump_now()
    assert get(render)["ETag"] != seen
