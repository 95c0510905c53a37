import hmac
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ops.metrics import scrape_registry
from ops.postgresql.base import deadline
from ops.problems import problem_response
from ops.selectors import BrokerUnavailable, heartbeats_status, queue_lengths

logger = logging.getLogger(__name__)

# Seconds the readiness probe gives the database: a compose health check waits 5.
READINESS_DATABASE_TIMEOUT = 2.0


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up; says nothing of its dependencies. Under gunicorn config/wsgi.py
    answers it before Django; this view serves the test client and runserver."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with deadline(READINESS_DATABASE_TIMEOUT), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    try:
        queue_lengths()
        return True
    except BrokerUnavailable:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: the database answers. 503 otherwise.

    The broker is not asked: without it web still declares, acknowledges and takes webhooks
    (the sweepers enqueue the work later), so a broker outage must not take web out of its
    load balancer. `?full=1` asks about the whole installation instead: the database, the
    broker and the heartbeats of beat and of each queue's workers, for monitoring.
    """
    checks: dict[str, bool] = {"database": _database_ok()}
    if request.GET.get("full") == "1":
        checks["broker"] = _broker_ok()
        if checks["database"]:
            for heartbeat in heartbeats_status(now=timezone.now()):
                checks[f"heartbeat:{heartbeat.kind}:{heartbeat.name}"] = heartbeat.fresh
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _metrics_authorized(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; behind a bearer token when settings.METRICS_TOKEN is set, and
    closed in production until it is."""
    if settings.PRODUCTION and not settings.METRICS_TOKEN:
        return problem_response(
            request, 403, "Metrics are off: set METRICS_TOKEN and scrape with it as a bearer token."
        )
    if not _metrics_authorized(request):
        response = problem_response(request, 401, "A valid bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


@login_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """For admins: is every part of Tocsin alive, and is paging being served?"""
    # ops is the lowest layer and knows no domain app, not even accounts' User, so no can().
    if not getattr(request.user, "is_admin", False):
        raise PermissionDenied("Only admins may see the health of the installation.")
    heartbeats = heartbeats_status(now=timezone.now())
    try:
        queues: dict[str, int] | None = queue_lengths()
    except BrokerUnavailable as exc:
        logger.warning("health page: broker unreachable: %s", exc)
        queues = None
    context = {
        "heartbeats": heartbeats,
        "queues": queues,
        "stale_after": settings.HEARTBEAT_STALE_AFTER,
        "all_fresh": all(heartbeat.fresh for heartbeat in heartbeats),
    }
    return render(request, "ops/health.html", context)
