"""Health probes and the metrics scrape answer whatever Host they name.

Kubernetes and Docker probe a container by its address (`Host: 10.1.2.3:8000`), and Prometheus
scrapes `/metrics` the same way; no operator can list those addresses in ALLOWED_HOSTS, so the
probes got 400. Host validation guards what is built from the Host header (absolute URLs,
redirects, CSRF origins); these three views build nothing from it, so they are answered here,
before the middleware that validates it. Every other path still gets 400 for a host not allowed.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        # Read by RequestMetricsMiddleware for its view label.
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
