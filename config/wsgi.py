"""WSGI entry point.

Webhooks (`/hooks/`) come from machines: no session, user, CSRF token, messages, htmx or
viewer's zone applies to them, and that middleware cost a third of a webhook's CPU (measured:
about 1 ms of 3). They go through a second handler with settings.MACHINE_MIDDLEWARE: metrics,
security headers and the body size limit. The public status page's reads (`is_public`) go
through a third with settings.PUBLIC_MIDDLEWARE: no session, user or CSRF cookie, so nothing
there reads a session row or answers `Vary: Cookie`, and proxies may share one copy of the page
during an outage; its security headers (CSP included) stay. Everything else gets
settings.MIDDLEWARE.

/healthz is answered here, before Django: Django's request_started signal checks the database
connection (a health check query when the last request failed), so a hanging database would
hang the liveness probe too, and an orchestrator would restart a web that is fine.
"""

import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

MACHINE_PREFIX = "/hooks/"
# The status page's public reads: the page, its history and incident pages, the JSON API and
# the feeds. Sign-ups and staff pages under /status/ keep the full stack (forms, CSRF).
PUBLIC_PAGE = "/status/"
PUBLIC_PREFIXES = ("/status/history", "/status/incidents/", "/status/api/")
LIVENESS_PATH = "/healthz"
LIVENESS_BODY = b'{"status": "ok"}'


class MachineHandler(WSGIHandler):
    middleware_setting = "MACHINE_MIDDLEWARE"

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler reads settings.MIDDLEWARE; show it the short list while it reads, once,
        # at start-up, before any request is served.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = getattr(settings, self.middleware_setting)
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class PublicHandler(MachineHandler):
    middleware_setting = "PUBLIC_MIDDLEWARE"


site = get_wsgi_application()
machines = MachineHandler()
public = PublicHandler()


def is_public(path: str) -> bool:
    return path == PUBLIC_PAGE or path.startswith(PUBLIC_PREFIXES)


def liveness(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
        start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
        return [b""]
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(LIVENESS_BODY))),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    start_response("200 OK", headers)
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else LIVENESS_BODY]


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == LIVENESS_PATH:
        return liveness(environ, start_response)
    if path.startswith(MACHINE_PREFIX):
        return machines(environ, start_response)
    if is_public(path):
        return public(environ, start_response)
    return site(environ, start_response)
