from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ops.timestamps import zone_named

# Set by static/js/timezone.js from the browser's Intl API.
TIMEZONE_COOKIE = "tocsin_tz"


class ViewerTimezoneMiddleware:
    """Shows times in the viewer's zone: their profile's, else their browser's, else UTC.

    The cookie is whatever the client sends ("America", 300 characters, a NUL): only a known
    zone name is used, anything else means UTC, so no page (sign-in included) can fail on it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = ""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = getattr(user, "timezone", "")
        zone = zone_named(name) or zone_named(request.COOKIES.get(TIMEZONE_COOKIE, ""))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
