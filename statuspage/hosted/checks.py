"""System check of the hosted Statuspage settings: half a configuration fails at start, not
silently in a worker."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def check_hosted_statuspage(**kwargs: Any) -> list[CheckMessage]:
    page_id = settings.STATUSPAGE_HOSTED_PAGE_ID
    api_key = settings.STATUSPAGE_HOSTED_API_KEY
    errors: list[CheckMessage] = []
    if bool(page_id) != bool(api_key):
        missing = "STATUSPAGE_HOSTED_API_KEY" if page_id else "STATUSPAGE_HOSTED_PAGE_ID"
        errors.append(
            Error(
                f"{missing} is empty while "
                f"{'STATUSPAGE_HOSTED_PAGE_ID' if page_id else 'STATUSPAGE_HOSTED_API_KEY'} "
                "is set: nothing would be pushed to the hosted status page.",
                hint="Set both to push public incidents to a hosted Atlassian Statuspage, "
                "or neither.",
                id="statuspage.E101",
            )
        )
    url = urlsplit(settings.STATUSPAGE_HOSTED_API_URL)
    if page_id and (url.scheme not in ("http", "https") or not url.hostname):
        errors.append(
            Error(
                f"STATUSPAGE_HOSTED_API_URL {settings.STATUSPAGE_HOSTED_API_URL!r} is not an "
                "http(s) URL.",
                hint="Leave it unset for https://api.statuspage.io.",
                id="statuspage.E102",
            )
        )
    return errors
