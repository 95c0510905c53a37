"""The page's version: what the rendered page, the JSON and their ETags are cached under.

Every write that changes what the public sees bumps it (after commit), so a cached render is
never served past a change. It lives in the cache (Redis in production) so every web process
sees a bump at once. With the cache unreachable the page must still be served — it matters
most during an outage — so reading falls back to a version that changes every few seconds,
which only costs renders.

Each process also remembers the version it read for LOCAL_SECONDS: under a stampede that
spares a cache round trip per request (the page's hit would otherwise cost more than half
again a no-op view's). Another process's change is seen within that second; a change made in
this process at once, as its bump forgets the remembered version. Browsers may keep the page
STATUSPAGE_MAX_AGE seconds anyway.
"""

import logging
import time
import uuid

from django.core.cache import cache
from django.db import transaction

from ops.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

KEY = "statuspage:version"
# While the cache is down, a version this many seconds long.
FALLBACK_SECONDS = 5
LOCAL_SECONDS = 1.0
# (remember until, in time.monotonic(); the version)
_remembered: tuple[float, str] | None = None


def current() -> str:
    global _remembered
    remembered = _remembered
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    version = _read()
    _remembered = (time.monotonic() + LOCAL_SECONDS, version)
    return version


def forget() -> None:
    """Read the version from the cache next time (a bump; tests that change it directly)."""
    global _remembered
    _remembered = None


def _read() -> str:
    try:
        version = cache.get(KEY)
        if version is None:
            version = uuid.uuid4().hex
            # add: two processes starting together agree on the first one set.
            if not cache.add(KEY, version, timeout=None):
                version = cache.get(KEY) or version
        return str(version)
    except CACHE_ERRORS:
        logger.warning("status page version unreadable; serving renders of a short life")
        return f"fallback-{int(time.time() // FALLBACK_SECONDS)}"


def bump() -> None:
    """Call inside the writing transaction: the new version is set once it commits."""
    transaction.on_commit(_set_new_version)


def _set_new_version() -> None:
    try:
        cache.set(KEY, uuid.uuid4().hex, timeout=None)
    except CACHE_ERRORS:
        logger.exception("status page version not bumped; renders follow within the fallback")
    finally:
        # After the write: a read in between would remember the old version again.
        forget()
