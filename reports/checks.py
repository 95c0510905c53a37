"""System checks of the reports' settings: a typo in one is an error at start, not a 500 on the
1st of the month when the email is built."""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from incidents.models import Severity
from reports.definitions import Anchor
from reports.load import working_time


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
    try:
        working_time()
    except ImproperlyConfigured as problem:
        errors.append(
            Error(
                str(problem),
                hint="REPORTS_WORKING_HOURS: HH:MM-HH:MM, e.g. 09:00-18:00; "
                "REPORTS_WORKING_DAYS: ISO weekdays, 1 (Monday) to 7 (Sunday).",
                id="reports.E003",
            )
        )
    return errors


@register(Tags.database)
def check_mttr_target_severities(**kwargs: Any) -> list[CheckMessage]:
    """A REPORTS_MTTR_TARGETS name that is no severity's is a target no row is ever held to.
    Only a warning: the severity may be created after the check (a fresh database). Tagged
    database, as Django's own database checks are: run by migrate and `check --database`, not
    by a plain `check`, which may run where no database is to be touched."""
    names = set(settings.REPORTS_MTTR_TARGETS)
    if not names:
        return []
    try:
        known = set(Severity.objects.filter(name__in=names).values_list("name", flat=True))
    except (DatabaseError, ImproperlyConfigured):
        # Checks also run with no database (manage.py check in a build), or before migrate:
        # nothing to compare with.
        return []
    return [
        Warning(
            f"REPORTS_MTTR_TARGETS names {name!r}, which is no severity.",
            hint="Name severities as they are spelled in Tocsin (e.g. SEV1), or drop the entry.",
            id="reports.W001",
        )
        for name in sorted(names - known)
    ]
