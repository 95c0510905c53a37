"""Inbound webhooks. Each answers 2xx only once the delivery's alerts are committed."""

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alerts.models import IntegrationKind
from alerts.parsers import PayloadError, alertmanager, events_v2, generic
from alerts.webhooks import (
    WebhookRefused,
    authenticate,
    bearer_token,
    read_json,
    store,
    unavailable,
)
from ops.problems import problem_response


@csrf_exempt
@require_POST
def alertmanager_webhook(request: HttpRequest, token: str = "") -> HttpResponse:
    """Alertmanager webhook v4; the token in the path or, better, as a bearer token."""
    try:
        integration = authenticate(
            request, token or bearer_token(request), kind=IntegrationKind.ALERTMANAGER
        )
        payload = read_json(request)
        events = alertmanager.parse(payload, integration=integration)
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
def generic_webhook(request: HttpRequest, token: str = "") -> HttpResponse:
    """Any JSON; the integration's templates say what the title, key and status are."""
    try:
        integration = authenticate(
            request, token or bearer_token(request), kind=IntegrationKind.GENERIC
        )
        payload = read_json(request)
        events = generic.parse(payload, integration=integration, received_at=timezone.now())
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
    """PagerDuty Events API v2: the routing key in the body; PagerDuty's own answer shapes."""
    return events_v2.receive(request)
