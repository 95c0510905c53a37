"""What the action-item, reminder and report tests share: moments in the organisation's zone,
items made through the service, and the reminders the outbox holds."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from accounts.models import User
from incidents.models import Incident
from postmortems.models import ActionItem, OutgoingEmail
from postmortems.services.action_items import action_item_create, action_item_update

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: date, hour: int = 9, minute: int = 0, *, zone: ZoneInfo = BERLIN) -> datetime:
    """A wall-clock moment in `zone`, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), zone)


def item(
    incident: Incident,
    actor: User,
    *,
    now: datetime,
    due: date,
    owner: User | None = None,
    title: str = "Add an alert on queue depth",
    **kwargs: Any,
) -> ActionItem:
    return action_item_create(
        incident=incident,
        actor=actor,
        title=title,
        owner=owner,
        due_date=due,
        now=now,
        **kwargs,
    )


def set_status(
    action_item: ActionItem, actor: User, status: str, *, now: datetime, reason: str = ""
) -> ActionItem:
    changes: dict[str, Any] = {"status": status}
    if reason:
        changes["wont_do_reason"] = reason
    return action_item_update(item=action_item, actor=actor, changes=changes, now=now)


def reminder_emails(action_item: ActionItem) -> list[OutgoingEmail]:
    return list(
        OutgoingEmail.objects.filter(key__startswith=f"reminder:{action_item.pk}:").order_by(
            "created_at", "pk"
        )
    )


def reminder_days(action_item: ActionItem, *, zone: ZoneInfo = BERLIN) -> list[date]:
    """The local days the item's owner was emailed on, one entry per email."""
    return [email.created_at.astimezone(zone).date() for email in reminder_emails(action_item)]
