"""Settings for the test suite: real PostgreSQL and Redis on 127.0.0.1 unless overridden."""

import os
from urllib.parse import urlsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tocsin")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")


def _worker_redis_url(url: str, worker: str) -> str:
    """Under pytest-xdist each worker (gw0, gw1, …) has a Redis db of its own, the given db
    plus the worker's number: tests clear the cache and count queued tasks, which a second
    worker's tests would otherwise disturb. pytest-django gives each its own database the same
    way."""
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    return parts._replace(path=f"/{base + int(worker.removeprefix('gw'))}").geturl()


# Written back to the environment: the gunicorn, Celery and manage.py processes the tests start
# inherit it, and so share the worker's db; they load these settings too, and the mark keeps
# them from adding the worker's number a second time.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("TOCSIN_TEST_REDIS_WORKER") != _worker:
    os.environ["REDIS_URL"] = _worker_redis_url(os.environ["REDIS_URL"], _worker)
    os.environ["TOCSIN_TEST_REDIS_WORKER"] = _worker

from config.settings import *  # noqa: E402, F403 (after REDIS_URL is settled)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_RATE_LIMIT = 5

# WhiteNoise warns on every request when STATIC_ROOT is missing, though it serves from the app
# folders (WHITENOISE_USE_FINDERS); `make run` and the Docker image create it, tests do here.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# The provider stubs and webhook receivers listen on loopback; tests of the public-address
# rule turn this off for themselves.
WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = True
