"""When action-item owners are reminded: two days before the due date, then every day the item
is overdue, at REMINDER_HOUR in the organisation's zone.

`next_reminder_at` is the item's timer; the beat tick claims items whose time has come.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from postmortems.models import ActionItem

REMINDER_HOUR = time(9, 0)
DAYS_BEFORE_DUE = 2


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.ORGANISATION_TIME_ZONE)


def organisation_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(organisation_zone()).date()


def overdue_from(due_date: date) -> datetime:
    """The first moment the item is overdue: the end of its due date, organisation's zone."""
    return datetime.combine(due_date + timedelta(days=1), time(0), organisation_zone())


def _at_reminder_hour(day: date) -> datetime:
    return datetime.combine(day, REMINDER_HOUR, organisation_zone())


def next_reminder_at(item: ActionItem, *, now: datetime) -> datetime | None:
    """The first reminder moment after `now`, or None when the item is closed or unowned."""
    if item.is_closed or item.owner_id is None:
        return None
    before = _at_reminder_hour(item.due_date - timedelta(days=DAYS_BEFORE_DUE))
    if before > now:
        return before
    day = max(item.due_date + timedelta(days=1), organisation_today(now))
    moment = _at_reminder_hour(day)
    return moment if moment > now else _at_reminder_hour(day + timedelta(days=1))


def reminders_send_due(*, now: datetime | None = None) -> list[int]:
    """Claim the items whose reminder is due and queue their reminders; the ids reminded.
    (Filled in by the action-item work.)"""
    return []
