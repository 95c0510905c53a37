"""System checks of the deployment (`manage.py check --deploy`)."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_base_url(**kwargs: Any) -> list[CheckMessage]:
    """Links in pages, email, SMS and Slack start with BASE_URL: on a production install left
    to its default they would send the person on call to their own machine."""
    if not settings.PRODUCTION:
        return []
    parts = urlsplit(settings.BASE_URL)
    if parts.scheme == "https" and parts.hostname not in {None, "localhost", "127.0.0.1", "::1"}:
        return []
    return [
        Warning(
            f"BASE_URL is {settings.BASE_URL!r}: links sent out (pages, email, the one-click "
            "acknowledgement) would point nowhere.",
            hint="Set BASE_URL to the public https:// address of Tocsin.",
            id="tocsin.W001",
        )
    ]
