"""What every inbound webhook does around its parser: authenticate, read, store, answer."""

import json
import logging
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from alerts import selectors, tasks
from alerts.models import Integration
from alerts.parsers import AlertEvent
from alerts.services import ingest
from ops.problems import problem_response

logger = logging.getLogger(__name__)

JSON_TYPES = ("application/json",)


class WebhookRefused(Exception):
    """The request is refused; `response` says why."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: HttpRequest, path_token: str, *, kind: str) -> Integration:
    """The integration whose token came as `Authorization: Bearer <token>` or, for senders
    that cannot set a header, in the URL's path (`path_token`)."""
    integration = selectors.integration_for_token(path_token or bearer_token(request))
    if integration is None or integration.kind != kind:
        raise WebhookRefused(problem_response(request, 401, "Unknown integration token."))
    if not integration.active:
        raise WebhookRefused(problem_response(request, 403, "This integration is paused."))
    return integration


def read_json(request: HttpRequest) -> Any:
    if request.content_type not in JSON_TYPES:
        raise WebhookRefused(
            problem_response(request, 415, "The body must be JSON (application/json).")
        )
    try:
        return json.loads(request.body)
    # RecursionError: brackets nested deeper than the parser's stack (fits in 512 KB).
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookRefused(
            problem_response(request, 400, f"The body is not valid JSON: {exc}")
        ) from exc


def store(integration: Integration, events: list[AlertEvent]) -> int:
    """Commit the delivery's alerts, then have a worker act on them.

    The answer goes out only after the commit: a source that gets a 2xx may forget the alert.
    The ingest is one statement, so autocommit commits it on its own, without the BEGIN and
    COMMIT round trips of an atomic block; inside a caller's transaction, on_commit waits for it.
    """
    stored = ingest.alert_events_ingest(integration=integration, events=events)
    if stored:
        # robust: a broker outage must not fail a committed delivery; the sweeper catches up.
        transaction.on_commit(lambda: tasks.process_alerts_soon(integration.pk), robust=True)
    return stored


def unavailable(request: HttpRequest, exc: DatabaseError) -> JsonResponse:
    # 5xx makes Alertmanager (and PagerDuty clients) retry; the delivery is not lost.
    logger.error("webhook: database unavailable: %s", exc)
    response = problem_response(request, 503, "The database is unavailable; retry shortly.")
    response["Retry-After"] = "5"
    return response
