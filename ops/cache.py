"""Django's Redis cache, keeping its redis-py client instead of building one per call."""

from typing import Any

from django.core.cache.backends import redis as django_redis
from redis.exceptions import RedisError

# What a cache that is down or full raises: redis-py's errors (refused, timed out, out of
# memory), or the file cache's (make run's embedded setup). Code that can do without the cache
# catches these and nothing wider, so a bug of its own still surfaces.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)


class _ClientKeepingRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[bool, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django builds a new redis.Redis for every call: half a millisecond of the webhook's
        # one cache.add (measured). A client only wraps its connection pool, and each thread
        # has its own cache object, so keeping it is safe. With replicas, a process keeps
        # reading from the one it first picked.
        client = self._clients.get(write)
        if client is None:
            client = self._clients[write] = super().get_client(key, write=write)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientKeepingRedisCacheClient
