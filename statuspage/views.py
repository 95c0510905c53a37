"""The public status page: no sign-in, no session, no cookie, no script.

Every view renders without the request's context (no context processor runs, so nothing reads
the session, the user or the CSRF token) and goes through statuspage.caching, so a stampede
costs a cache read per request and a render per minute or per change. Times are shown in
STATUSPAGE_TIME_ZONE, named on the page.
"""

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ops.problems import problem_response
from statuspage import caching, selectors_page
from statuspage.models import ComponentState, MaintenanceStatus, PublicStatus

HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
DEFAULT_ACCENT = "#2563eb"
HISTORY_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# How far back ?page=N may go: twenty years of months.
MAX_HISTORY_PAGES = 240


def accent_color() -> str:
    """The configured accent if it is a hex colour; it goes into a style element, so nothing
    else is let through."""
    value = settings.STATUSPAGE_ACCENT_COLOR.strip()
    return value if HEX_COLOR.fullmatch(value) else DEFAULT_ACCENT


def theme_css() -> str:
    return f":root{{--accent:{accent_color()}}}"


def page_csp() -> dict[str, list[str]]:
    # Built once per configuration, not per request: a cache hit is a few hundred
    # microseconds. The middleware only reads the policy.
    return _page_csp(
        settings.STATUSPAGE_ACCENT_COLOR, settings.STATUSPAGE_LOGO_URL, id(settings.SECURE_CSP)
    )


@functools.lru_cache(maxsize=8)
def _page_csp(accent: str, logo_url: str, policy_id: int) -> dict[str, list[str]]:
    """The site's policy, plus the hash of the page's one inline style (the accent colour: a
    nonce cannot be used in a cached page) and the logo's origin when it is elsewhere."""
    configured: dict[str, Any] = settings.SECURE_CSP
    policy: dict[str, list[str]] = {name: list(values) for name, values in configured.items()}
    digest = base64.b64encode(hashlib.sha256(theme_css().encode()).digest()).decode()
    policy["style-src"] = [*policy.get("style-src", ["'self'"]), f"'sha256-{digest}'"]
    logo = urlsplit(logo_url)
    if logo.scheme == "https" and logo.netloc:
        policy["img-src"] = [*policy.get("img-src", ["'self'"]), f"https://{logo.netloc}"]
    return policy


def page_context() -> dict[str, Any]:
    """What statuspage/base.html needs: the page's name, look and zone."""
    return {
        "page_name": settings.STATUSPAGE_NAME,
        "logo_url": settings.STATUSPAGE_LOGO_URL,
        "support_url": settings.STATUSPAGE_SUPPORT_URL,
        "theme_css": theme_css(),
        "zone_name": settings.STATUSPAGE_TIME_ZONE,
        "rendered_at": timezone.now(),
        "states": ComponentState,
        "public_status": PublicStatus,
        "maintenance_status": MaintenanceStatus,
    }


def _render(template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    with timezone.override(caching.page_zone()):
        body = render_to_string(template, {**page_context(), **context})
    return HttpResponse(body, status=status)


def not_found() -> HttpResponse:
    """The page's own 404, in its look, with nothing of the signed-in site."""
    response = _render("statuspage/not_found.html", {}, status=404)
    response._csp_config = page_csp()  # type: ignore[attr-defined]
    return response


def is_public_read(path: str) -> bool:
    """The page's public reads: the page, its history (feeds included), incident pages and the
    JSON API. config.wsgi.is_public names the same addresses to serve them cookie-less."""
    root = reverse("statuspage:page")
    return path == root or path.startswith((f"{root}history", f"{root}incidents/", f"{root}api/"))


def public_not_found(request: HttpRequest) -> HttpResponse | None:
    """The 404 for an unknown address among the public reads (ops.problems.page_not_found asks
    it; statuspage.apps registers it): the page's own, or problem details under the API, so a
    script never parses HTML. Like the page it reads no session and sets no cookie."""
    if not is_public_read(request.path):
        return None
    response: HttpResponse
    if request.path.startswith(reverse("statuspage:page") + "api/"):
        response = problem_response(request, 404, "Nothing lives at this address.")
        response["Access-Control-Allow-Origin"] = "*"
    else:
        response = not_found()
    response["Cache-Control"] = f"public, max-age={caching.NOT_FOUND_TTL}"
    return response


def _public(
    request: HttpRequest,
    key: list[str],
    render: Callable[[], HttpResponse],
    *,
    cache_not_found: bool = False,
) -> HttpResponse:
    response = caching.cached_response(request, key, render, cache_not_found=cache_not_found)
    # Read by the CSP middleware; set on every answer, the cached ones included.
    response._csp_config = page_csp()  # type: ignore[attr-defined]
    return response


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    def render() -> HttpResponse:
        overview = selectors_page.page_overview(now=timezone.now())
        return _render(
            "statuspage/page.html",
            {"overview": overview, "status": overview.status},
        )

    return _public(request, ["page"], render)


@require_safe
def incident(request: HttpRequest, code: str) -> HttpResponse:
    def render() -> HttpResponse:
        found = selectors_page.incident_by_code(code)
        if found is not None:
            return _render("statuspage/incident.html", {"incident": found})
        maintenance = selectors_page.maintenance_by_code(code)
        if maintenance is not None:
            return _render("statuspage/maintenance.html", {"maintenance": maintenance})
        return not_found()

    # A maintenance lives at an incident's address, as on Statuspage (whose API lists it as
    # an incident with the same id), so its link still resolves once the window is over and
    # the page no longer shows it; codes are random, an incident's and a maintenance's never
    # meet in practice. An unknown code's 404 is cached too: made-up addresses would
    # otherwise each cost a query and a render, past the cache.
    return _public(request, ["incident", code], render, cache_not_found=True)


@require_safe
def history(request: HttpRequest, month: str | None = None) -> HttpResponse:
    now = timezone.now()
    current = selectors_page.Month.containing(now, caching.page_zone())
    if month is not None:
        matched = HISTORY_MONTH.fullmatch(month)
        if matched is None or not 1 <= int(matched[2]) <= 12:
            return not_found()
        shown = selectors_page.Month(int(matched[1]), int(matched[2]))
        if current.months_before(shown) > 0 or shown.year < 2000:
            return not_found()
    else:
        try:
            number = int(request.GET.get("page", "1"))
        except ValueError:
            number = 1
        shown = current.minus(min(max(number, 1), MAX_HISTORY_PAGES) - 1)

    def render() -> HttpResponse:
        return _render(
            "statuspage/history.html",
            {"history": selectors_page.history_month(month=shown, now=now)},
        )

    return _public(request, ["history", str(shown)], render)
