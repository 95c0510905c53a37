import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from ops import metrics
from ops.problems import problem_response


class BodySizeLimitMiddleware:
    """Refuse bodies no view could read whole: oversized ones with 413, before any view reads
    them, and those without a length with 411.

    A chunked body (`Transfer-Encoding: chunked`, no Content-Length) reaches Django as an
    empty one: WSGI gives it no length, and Django reads a body of unknown length as zero
    bytes. A view would then answer "invalid JSON" or, worse, act on an empty form. Every
    client we serve (Alertmanager, PagerDuty's, curl, browsers) sends a length for a body it
    holds, so the rare one that streams is told to send it instead (RFC 9110, 15.5.12).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            return problem_response(
                request, 411, "Send the body with a Content-Length; chunked bodies are refused."
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(request, 400, "Content-Length is not a number.")
        limit: int = settings.MAX_REQUEST_BODY_BYTES
        if length > limit:
            return problem_response(request, 413, f"The request body is larger than {limit} bytes.")
        return self.get_response(request)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        # The route's name, not its path, keeps the label set small.
        view = match.view_name if match is not None else "unmatched"
        metrics.observe_request(
            method=request.method or "",
            view=view,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
