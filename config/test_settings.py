"""Settings for the test suite: real PostgreSQL and Redis on 127.0.0.1 unless overridden."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tocsin")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_RATE_LIMIT = 5

# WhiteNoise warns on every request when STATIC_ROOT is missing, though it serves from the app
# folders (WHITENOISE_USE_FINDERS); `make run` and the Docker image create it, tests do here.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# The provider stubs and webhook receivers listen on loopback; tests of the public-address
# rule turn this off for themselves.
WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = True
