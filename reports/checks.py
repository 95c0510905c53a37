"""System checks of the reports' settings: a typo in one is an error at start, not a 500 on the
1st of the month when the email is built."""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from reports.definitions import Anchor


@register()
def check_report_settings(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.REPORTS_MTTR_ANCHOR not in set(Anchor):
        errors.append(
            Error(
                f"REPORTS_MTTR_ANCHOR is {settings.REPORTS_MTTR_ANCHOR!r}.",
                hint="Set it to started, detected (the default) or declared.",
                id="reports.E001",
            )
        )
    try:
        ZoneInfo(settings.ORGANISATION_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(
            Error(
                f"ORGANISATION_TIME_ZONE is {settings.ORGANISATION_TIME_ZONE!r}, not a time zone.",
                hint="Set it to an IANA zone such as Europe/Paris or America/New_York.",
                id="reports.E002",
            )
        )
    return errors
