"""Inbound webhooks. Each answers 2xx only once the delivery's alerts are committed."""

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alerts import selectors, tasks
from alerts.models import Integration, IntegrationKind
from alerts.parsers import AlertEvent, PayloadError, alertmanager, events_v2, generic
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


def authenticate(request: HttpRequest, path_token: str, *, kind: IntegrationKind) -> Integration:
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


def _parse(kind: IntegrationKind, payload: Any, integration: Integration) -> list[AlertEvent]:
    if kind == IntegrationKind.ALERTMANAGER:
        return alertmanager.parse(payload, integration=integration)
    return generic.parse(payload, integration=integration, received_at=timezone.now())


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, kind: IntegrationKind, token: str = "") -> HttpResponse:
    """Alertmanager webhook v4 (`kind` alertmanager), or any JSON whose integration's templates
    say what the title, key and status are (`kind` generic). The token as a bearer token or,
    for senders that cannot set a header, in the path."""
    try:
        integration = authenticate(request, token, kind=kind)
        payload = read_json(request)
        events = _parse(kind, payload, integration)
        stored = store(integration, events)
    except WebhookRefused as refused:
        return refused.response
    except PayloadError as exc:
        return problem_response(request, 422, str(exc), errors=exc.errors)
    except DatabaseError as exc:
        return unavailable(request, exc)
    return JsonResponse({"status": "ok", "alerts": stored})


@csrf_exempt
@require_POST
def events_v2_enqueue(request: HttpRequest) -> HttpResponse:
    """PagerDuty Events API v2: the routing key in the body.

    Every answer keeps PagerDuty's shape (202 success; 400 "invalid event", which clients log
    and do not retry; 5xx, which they retry), so a PagerDuty client can read our errors too;
    only the 413 of the body-size middleware, which runs before any view, is problem JSON.
    """
    if request.content_type not in JSON_TYPES:
        return _invalid_event(
            ["The body must be JSON (Content-Type: application/json)."], status=415
        )
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        return _invalid_event(["The event is larger than 512 KB."], status=413)
    except RecursionError:
        return _invalid_event(["The body is not valid JSON: nested too deeply."])
    except (ValueError, UnicodeDecodeError) as exc:
        return _invalid_event([f"The body is not valid JSON: {exc}"])
    received_at = timezone.now()
    try:
        routing_key, action, dedup_key, event = events_v2.validate(body, received_at)
    except events_v2.InvalidEvent as exc:
        return _invalid_event(exc.errors)
    try:
        integration = selectors.integration_for_token(routing_key)
        # An unknown or paused key is answered as PagerDuty answers a key it does not know:
        # 400 "invalid event". PagerDuty's clients treat 400 as final and log it, which is what
        # we want: retrying will not make the key valid, and a paused integration means "drop
        # these" — whereas 401/403 are outside the Events API's contract (some clients retry
        # them) and a 202 would let the sender believe somebody was paged.
        if integration is None or integration.kind != IntegrationKind.EVENTS_V2:
            return _invalid_event(["Invalid routing key."])
        if not integration.active:
            return _invalid_event(
                ["The integration of this routing key is paused; events are refused."]
            )
        events = events_v2.events(integration, action, dedup_key, event, received_at)
        store(integration, events)
    except DatabaseError as exc:
        # 5xx makes PagerDuty clients retry; the event is not lost.
        logger.error("events v2: database unavailable: %s", exc)
        response = _pagerduty_answer(
            503, "unavailable", "Try again later", ["The database is unavailable."]
        )
        response["Retry-After"] = "5"
        return response
    return JsonResponse(
        {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
    )


def _pagerduty_answer(status: int, state: str, message: str, errors: list[str]) -> JsonResponse:
    return JsonResponse({"status": state, "message": message, "errors": errors}, status=status)


def _invalid_event(errors: list[str], status: int = 400) -> JsonResponse:
    return _pagerduty_answer(status, "invalid event", "Event object is invalid", errors)
