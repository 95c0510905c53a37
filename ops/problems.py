"""RFC 9457 problem details for every error the API and webhooks answer with."""

import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Conflict(Exception):
    """The change conflicts with the current state of what it changes: answered as 409 Conflict.

    Each app subclasses it for its own conflicts (`incidents.transitions.IncidentConflict`).
    """


def problem_body(
    status_code: int,
    *,
    detail: str = "",
    errors: dict[str, list[str]] | None = None,
    instance: str = "",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(
    request: HttpRequest | None, status_code: int, detail: str = "", **extra: Any
) -> JsonResponse:
    """A problem details answer for plain Django views and middleware."""
    instance = request.path if request is not None else ""
    return JsonResponse(
        problem_body(status_code, detail=detail, instance=instance, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail to one list of messages per field path.

    Nested fields read as `labels.team` and list items as `items.0.name`, so a client can
    point at the exact input that was wrong.
    """
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for name, value in detail.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            for field, messages in _field_errors(value, path).items():
                errors.setdefault(field, []).extend(messages)
        return errors
    field = prefix or "non_field_errors"
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {field: [str(m) for m in detail]}
        errors = {}
        for index, item in enumerate(detail):
            # DRF pads list errors with an empty entry for every valid item.
            if item:
                errors.update(_field_errors(item, f"{field}.{index}"))
        return errors
    return {field: [str(detail)]}


def _translate(exc: Exception) -> Exception:
    """Map domain and Django errors onto DRF's so one handler renders them all."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {
                    name: [m for e in errs for m in e.messages]
                    for name, errs in exc.error_dict.items()
                }
            )
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, Conflict):
        error = exceptions.APIException(str(exc))
        error.status_code = status.HTTP_409_CONFLICT
        return error
    if isinstance(exc, ObjectDoesNotExist):
        return Http404()
    if isinstance(exc, RequestDataTooBig):
        error = exceptions.APIException("The request body is too large.")
        error.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        return error
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    return exc


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# An upper app's own 404 for its addresses (ops knows no domain app): asked in turn, each
# answers for a path of its own or says None. The status page registers one, so an unknown
# address among its public reads gets its look, with no CSRF cookie, session or nonce.
NotFoundView = Callable[[HttpRequest], HttpResponse | None]
_not_found_views: list[NotFoundView] = []


def register_not_found(view: NotFoundView) -> None:
    """Called from an app's AppConfig.ready; registering the same view again changes nothing."""
    if view not in _not_found_views:
        _not_found_views.append(view)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: problem details under /api/, so clients never parse an HTML page; an app's
    own 404 where it registered one; Django's page elsewhere."""
    if _wants_problem(request):
        return problem_response(request, 404, "Nothing lives at this address.")
    for view in _not_found_views:
        if (answer := view(request)) is not None:
            return answer
    return defaults.page_not_found(request, exception)


# Seconds a client is asked to wait before trying again while the database is unreachable.
UNAVAILABLE_RETRY_AFTER = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: problem details under /api/ and /hooks/; the exception itself is only logged.

    The database being unreachable (refused, timed out, dropped) is no bug of ours: 503 with
    Retry-After, so clients and proxies retry instead of giving up.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(request)
    if _wants_problem(request):
        return problem_response(request, 500, "Something went wrong on our side.")
    return defaults.server_error(request)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if _wants_problem(request) or request.path.startswith("/hooks/"):
        response = problem_response(request, 503, "The database is unavailable; retry shortly.")
    else:
        # A page of its own, without the base layout: that reads the user, from the database.
        body = loader.render_to_string("ops/unavailable.html")
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        detail = "The request has invalid fields." if errors else ""
        data = problem_body(response.status_code, detail=detail, errors=errors, instance=instance)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        data = problem_body(response.status_code, detail=str(detail), instance=instance)
    response.data = data
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
