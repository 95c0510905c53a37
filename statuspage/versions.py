"""The page's version: what the rendered page, the JSON and their ETags are cached under.

Every write that changes what the public sees bumps it (after commit), so a cached render is
never served past a change. It lives in the cache (Redis in production) so every web process
sees a bump at once. With the cache unreachable the page must still be served — it matters
most during an outage — so reading falls back to a version that changes every few seconds,
which only costs renders.
"""

import logging
import time
import uuid

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "statuspage:version"
# While the cache is down, a version this many seconds long.
FALLBACK_SECONDS = 5


def current() -> str:
    try:
        version = cache.get(KEY)
        if version is None:
            version = uuid.uuid4().hex
            # add: two processes starting together agree on the first one set.
            if not cache.add(KEY, version, timeout=None):
                version = cache.get(KEY) or version
        return str(version)
    except Exception:
        logger.warning("status page version unreadable; serving renders of a short life")
        return f"fallback-{int(time.time() // FALLBACK_SECONDS)}"


def bump() -> None:
    """Call inside the writing transaction: the new version is set once it commits."""
    transaction.on_commit(_set_new_version)


def _set_new_version() -> None:
    try:
        cache.set(KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.exception("status page version not bumped; renders follow within the fallback")
