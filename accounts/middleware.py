import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# Set by static/js/timezone.js from the browser's Intl API.
TIMEZONE_COOKIE = "tocsin_tz"


class ViewerTimezoneMiddleware:
    """Shows times in the viewer's zone: their profile's, else their browser's, else UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = ""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = getattr(user, "timezone", "")
        name = name or request.COOKIES.get(TIMEZONE_COOKIE, "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
