"""When action-item owners are reminded: two days before the due date, then every day the item
is overdue, at REMINDER_HOUR in the organisation's zone; and the tick that reminds them.

`next_reminder_at` is the item's timer (DESIGN.md, "Timers are rows"). The tick claims items
whose time has come with `select_for_update(skip_locked=True)` and, in the same transaction,
queues the email and the chat message (outbox rows keyed by item and local day) and moves the
timer on. Two beats ticking at once never remind an item twice on one day: the second either
skips the locked row, finds the timer moved, or (at worst) adds nothing under the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.messaging import direct_message
from incidents.permissions import Action, can
from postmortems.models import CLOSED_ACTION_ITEM_STATUSES, ActionItem
from postmortems.services.emails import email_queue

REMINDER_HOUR = time(9, 0)
DAYS_BEFORE_DUE = 2
# Items reminded per tick; more wait for the next tick, a few seconds later.
BATCH = 200


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.ORGANISATION_TIME_ZONE)


def organisation_today(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(organisation_zone()).date()


def overdue_from(due_date: date) -> datetime:
    """The first moment the item is overdue: the end of its due date, organisation's zone."""
    return datetime.combine(due_date + timedelta(days=1), time(0), organisation_zone())


def _at_reminder_hour(day: date) -> datetime:
    # 09:00 exists on every day in every zone (DST moves clocks at night), so this is always
    # the 09:00 people see on their clocks that day.
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


@dataclass(frozen=True)
class Reminder:
    """What a reminder says about an item on `today` (organisation's zone)."""

    item: ActionItem
    today: date
    url: str

    @property
    def days(self) -> int:
        """Days until the due date; negative when overdue."""
        return (self.item.due_date - self.today).days

    @property
    def overdue(self) -> bool:
        return self.days < 0

    @property
    def when(self) -> str:
        """ "due in 2 days", "due today", "overdue by 1 day"."""
        days = self.days
        if days == 0:
            return "due today"
        count = abs(days)
        unit = "day" if count == 1 else "days"
        return f"overdue by {count} {unit}" if days < 0 else f"due in {count} {unit}"

    @property
    def text(self) -> str:
        """The chat message: one line and the link."""
        item = self.item
        return (
            f"Action item {self.when}: {item.title} ({item.incident.ref}, due "
            f"{day_label(item.due_date)}). {self.url}"
        )


def day_label(day: date) -> str:
    """ "Fri 13 Mar 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def reminder_for(item: ActionItem, *, now: datetime) -> Reminder:
    return Reminder(
        item=item,
        today=organisation_today(now),
        url=settings.BASE_URL + item.get_absolute_url(),
    )


def _remind(item: ActionItem, *, now: datetime) -> bool:
    """Queue the owner's reminder for today; whether they could be told. Caller holds the
    item's row lock, in the transaction that moves its timer on."""
    owner = item.owner
    # An owner who left, or who no longer sees a private incident, hears nothing of it; nor
    # does anyone of an item already closed.
    if owner is None or item.is_closed or not can(owner, Action.VIEW, item.incident):
        return False
    reminder = reminder_for(item, now=now)
    key = f"reminder:{item.pk}:{reminder.today.isoformat()}"
    if owner.email:
        context = {
            "reminder": reminder,
            "item": item,
            "owner": owner,
            "due_label": day_label(item.due_date),
        }
        email_queue(
            key=f"{key}:email",
            to=owner.email,
            subject=render_to_string("postmortems/email/reminder_subject.txt", context),
            text=render_to_string("postmortems/email/reminder.txt", context),
            html=render_to_string("postmortems/email/reminder.html", context),
            now=now,
        )
    direct_message(user=owner, text=reminder.text, key=key)
    return True


def reminders_send_due(*, now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Claim the items whose reminder is due, queue their reminders and move their timers on;
    the ids of the items claimed."""
    now = now or timezone.now()
    timers = ActionItem.objects.filter(next_reminder_at__lte=now)
    # A closed item's timer is stopped by the service that closes it; one left running (by a
    # write that went around it) is stopped here, never fired.
    timers.filter(status__in=CLOSED_ACTION_ITEM_STATUSES).update(next_reminder_at=None)
    due = timers.exclude(status__in=CLOSED_ACTION_ITEM_STATUSES)
    # Most ticks find nothing: say so with one indexed read, without a transaction.
    if not due.exists():
        return []
    with transaction.atomic():
        items = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("owner", "incident")
            .order_by("next_reminder_at", "pk")[:limit]
        )
        for item in items:
            _remind(item, now=now)
            item.next_reminder_at = next_reminder_at(item, now=now)
        ActionItem.objects.bulk_update(items, ["next_reminder_at"])
    return [item.pk for item in items]
