"""The environment's readers, the paths, and what the rest of the settings build on: whether
this is production, the secret key, the hosts served and the address links start with."""

import os
from pathlib import Path

import django_stubs_ext

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, as the stubs type them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(int(default))).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Where the embedded setup keeps its SQLite file, broker queue and beat schedule.
DATA_DIR = Path(os.environ.get("TOCSIN_DATA_DIR", BASE_DIR / ".run"))

PRODUCTION = env_bool("TOCSIN_PRODUCTION")
DEBUG = env_bool("DEBUG")

if PRODUCTION and "SECRET_KEY" not in os.environ:
    raise RuntimeError("SECRET_KEY must be set when TOCSIN_PRODUCTION=1")
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "insecure-development-key-do-not-use-in-production-0123456789abcdef"
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")


def _local_base_url() -> str:
    """The address `make run` serves (HOST, PORT), for links when BASE_URL is not set."""
    host = os.environ.get("HOST", "127.0.0.1")
    if host in {"", "0.0.0.0", "::", "127.0.0.1", "::1"}:  # noqa: S104
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{os.environ.get('PORT', '8000')}"


# Links sent out (pages, email, feeds, integration snippets) start with this.
BASE_URL = (os.environ.get("BASE_URL") or _local_base_url()).rstrip("/")
