"""Serving the public page and its JSON when everyone reloads them at once.

A render is cached under the page's version (statuspage.versions, bumped on every public
change), today's date in STATUSPAGE_TIME_ZONE (the uptime bars move at midnight) and what the
caller names (the path, a page number). The same key is the ETag, so a conditional GET is
answered 304 from one cache read without rendering; Last-Modified is when that key was first
rendered, which is the first moment anyone could see the change, and it outlives the render's
short TTL so If-Modified-Since keeps working after the body expired.

Each render is kept compressed too, once: a browser (which always accepts gzip) gets the
page in a tenth of the bytes without the per-request compression Django's GZipMiddleware would
cost. That variant's ETag is weak, as GZipMiddleware makes it, so a revalidation matches either.

A caller may opt in to caching its 404s too (an unknown incident's address): briefly, under
the same version, without validators and never in the process's own few entries, so a crawler
asking for made-up addresses costs a cache read, not a query and a render, and cannot push the
page's render out of the process.

With the cache unreachable the page is rendered on every request: slower, never down.
"""

import gzip
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from ops.cache import CACHE_ERRORS
from statuspage import versions

logger = logging.getLogger(__name__)

# A render lives this long at most: a version bump is seen at once, a day's rollover or a
# still-open outage's growing downtime within this.
RENDER_TTL = 60
# The first-render time of a key is kept for longer than its body, so that a revalidation
# after the body expired still gets the same Last-Modified (and a 304).
STAMP_TTL = 2 * 24 * 3600
PREFIX = "statuspage:render:"
# Each process also keeps its latest renders, keyed by the same digest: a hit then costs one
# small cache read (the version) instead of fetching the page's few hundred kilobytes from
# Redis on every request (measured: about 1 ms of a hit's time). The version in the digest
# keeps it exact; with the cache down it also spares a render per request within the
# fallback version's few seconds.
LOCAL_ENTRIES = 32
_local: dict[str, tuple[float, "_Entry", float]] = {}
# gunicorn's threads share _local: evicting iterates it while another thread may insert, which
# raises "dictionary changed size during iteration". Writers take the lock; a hit is one
# dict.get, atomic on its own, and stays lock-free.
_local_lock = threading.Lock()
# A cached 404 lives this long: the version in its key already makes a newly published
# incident's page appear at once; this only bounds how long made-up addresses take room.
NOT_FOUND_TTL = 10


# gzip named in Accept-Encoding, and its weight when given (RFC 9110 12.5.3): "gzip;q=0" says
# "not gzip", which Django's GZipMiddleware (a bare \bgzip\b) does not read.
ACCEPTS_GZIP = re.compile(r"(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*(?:,|$)", re.I)


class _Entry(TypedDict):
    status: int
    content: bytes
    gzipped: bytes
    headers: dict[str, str]


def _accepts_gzip(request: HttpRequest) -> bool:
    match = ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", ""))
    if match is None:
        return False
    try:
        return match[1] is None or float(match[1]) > 0
    except ValueError:
        return False


def page_zone() -> ZoneInfo:
    return ZoneInfo(settings.STATUSPAGE_TIME_ZONE)


def today_in_zone(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), page_zone()).date()


def render_key(key_parts: Sequence[str], *, version: str | None = None) -> str:
    """The digest naming one render: the page version, today's date in the page's zone and
    the caller's parts. It is also the ETag."""
    parts = [version if version is not None else versions.current(), today_in_zone().isoformat()]
    parts.extend(key_parts)
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _public_headers(response: HttpResponse, etag: str, stamp: float) -> None:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(stamp)
    response.headers["Cache-Control"] = f"public, max-age={settings.STATUSPAGE_MAX_AGE}"
    # Nothing here depends on cookies or the signed-in user; only a compressing proxy needs
    # to keep its variants apart.
    response.headers["Vary"] = "Accept-Encoding"


def _not_modified(request: HttpRequest, etag: str, stamp: float) -> HttpResponse | None:
    answer = get_conditional_response(request, etag=etag, last_modified=int(stamp))
    if isinstance(answer, HttpResponseNotModified):
        _public_headers(answer, etag, stamp)
        return answer
    return None


def _cache_get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except CACHE_ERRORS:
        logger.warning("status page cache unreadable; rendering uncached")
        return {}


def _cache_store(body_key: str, entry: _Entry, stamp_key: str, stamp: float) -> float:
    """Stores the render; returns the key's first-render time (another process may have
    rendered it first, and every process must answer with the same Last-Modified)."""
    try:
        if not cache.add(stamp_key, stamp, timeout=STAMP_TTL):
            stamp = float(cache.get(stamp_key) or stamp)
        cache.set(body_key, entry, timeout=RENDER_TTL)
    except CACHE_ERRORS:
        logger.warning("status page cache unwritable; rendering uncached")
    return stamp


def cached_response(
    request: HttpRequest,
    key_parts: Sequence[str],
    render: Callable[[], HttpResponse],
    *,
    cache_not_found: bool = False,
) -> HttpResponse:
    """The response `render` makes, cached, with ETag, Last-Modified and Cache-Control; a
    conditional GET whose validators still hold is answered 304 without calling `render`.

    `key_parts` must name everything the render depends on besides what the public sees
    (which the version covers) and the day: the path, the page of a list, the format. A 200
    is cached, and a 404 for NOT_FOUND_TTL if `cache_not_found`; anything else is passed
    through as it came.
    """
    digest = render_key(key_parts)
    gzipped = _accepts_gzip(request)
    etag = f'W/"{digest}"' if gzipped else f'"{digest}"'
    held = _held(digest)
    if held is not None:
        if (answer := _not_modified(request, etag, held[1])) is not None:
            return answer
        return _answer(held[0], etag, held[1], gzipped=gzipped)
    body_key, stamp_key = f"{PREFIX}body:{digest}", f"{PREFIX}stamp:{digest}"
    found = _cache_get_many([body_key, stamp_key])
    entry: _Entry | None = found.get(body_key)
    if entry is not None and entry["status"] == 404:
        return _answer_not_found(entry, gzipped=gzipped)
    stamp: float | None = found.get(stamp_key)
    if stamp is not None and (answer := _not_modified(request, etag, stamp)) is not None:
        return answer
    if entry is None or stamp is None:
        response = render()
        if response.streaming:
            return response
        if response.status_code == 404 and cache_not_found:
            entry = _entry(response)
            _cache_store_not_found(body_key, entry)
            return _answer_not_found(entry, gzipped=gzipped)
        if response.status_code != 200:
            return response
        entry = _entry(response)
        stamp = _cache_store(body_key, entry, stamp_key, stamp or time.time())
    _hold(digest, entry, stamp)
    if (answer := _not_modified(request, etag, stamp)) is not None:
        return answer
    return _answer(entry, etag, stamp, gzipped=gzipped)


def _entry(response: HttpResponse) -> _Entry:
    return {
        "status": response.status_code,
        "content": response.content,
        # mtime 0: the same render compresses to the same bytes in every process.
        "gzipped": gzip.compress(response.content, compresslevel=6, mtime=0),
        "headers": {
            name: value
            for name, value in response.headers.items()
            if name.lower() in {"content-type", "content-language"}
        },
    }


def _cache_store_not_found(body_key: str, entry: _Entry) -> None:
    try:
        cache.set(body_key, entry, timeout=NOT_FOUND_TTL)
    except CACHE_ERRORS:
        logger.warning("status page cache unwritable; rendering uncached")


def _answer_not_found(entry: _Entry, *, gzipped: bool) -> HttpResponse:
    """A cached 404, the same whether just rendered or read back. No ETag or Last-Modified:
    a validator would let a conditional GET turn a 404 into a 304."""
    content = entry["gzipped"] if gzipped else entry["content"]
    response = HttpResponse(content, status=entry["status"], headers=entry["headers"])
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = f"public, max-age={NOT_FOUND_TTL}"
    response.headers["Vary"] = "Accept-Encoding"
    return response


def _answer(entry: _Entry, etag: str, stamp: float, *, gzipped: bool) -> HttpResponse:
    if gzipped:
        response = HttpResponse(entry["gzipped"], status=entry["status"], headers=entry["headers"])
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(entry["content"], status=entry["status"], headers=entry["headers"])
    _public_headers(response, etag, stamp)
    return response


def _held(digest: str) -> tuple[_Entry, float] | None:
    found = _local.get(digest)
    if found is None or found[0] < time.monotonic():
        return None
    return found[1], found[2]


def _hold(digest: str, entry: _Entry, stamp: float) -> None:
    # Oldest out first (dicts keep insertion order); a stale version's renders are never
    # asked for again, so they leave as new ones come in.
    with _local_lock:
        while len(_local) >= LOCAL_ENTRIES:
            _local.pop(next(iter(_local)), None)
        _local[digest] = (time.monotonic() + RENDER_TTL, entry, stamp)
