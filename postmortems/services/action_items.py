"""Action items: created from the postmortem or the incident page, owned, due, and followed
until done or declined with a reason.

An item's reminder timer (`next_reminder_at`) is set here on every change, so closing an item
or taking its owner away stops its reminders in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents.models import Incident, Team
from incidents.permissions import Action, require
from postmortems.models import (
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    PostmortemPolicy,
)
from postmortems.services.reminders import next_reminder_at, organisation_today

# When a severity has no policy row.
DEFAULT_DUE_DAYS = 30

EDITABLE_FIELDS = (
    "title",
    "description",
    "owner",
    "team",
    "due_date",
    "priority",
    "kind",
    "status",
    "wont_do_reason",
    "success_criteria",
    "ticket_url",
)


def default_due_date(*, incident: Incident, now: datetime | None = None) -> date:
    """Today in the organisation's zone plus the severity's days (SEV1 14, …)."""
    days = (
        PostmortemPolicy.objects.filter(severity_id=incident.severity_id)
        .values_list("action_item_due_days", flat=True)
        .first()
    )
    return organisation_today(now) + timedelta(days=DEFAULT_DUE_DAYS if days is None else days)


def _check(item: ActionItem) -> None:
    errors: dict[str, str] = {}
    if not item.title.strip():
        errors["title"] = "Give the action item a title."
    if item.status == ActionItemStatus.WONT_DO and not item.wont_do_reason.strip():
        errors["wont_do_reason"] = "Say why this will not be done."
    if item.priority not in ActionItemPriority.values:
        errors["priority"] = f"Choose one of {', '.join(ActionItemPriority.values)}."
    if item.kind not in ActionItemKind.values:
        errors["kind"] = f"Choose one of {', '.join(ActionItemKind.values)}."
    if item.status not in ActionItemStatus.values:
        errors["status"] = f"Choose one of {', '.join(ActionItemStatus.values)}."
    if item.owner is not None and not item.owner.is_active:
        errors["owner"] = f"{item.owner.display_name} can no longer sign in."
    if errors:
        raise ValidationError(errors)


def action_item_create(
    *,
    incident: Incident,
    actor: Actor,
    title: str,
    owner: User | None = None,
    team: Team | None = None,
    due_date: date | None = None,
    priority: str = ActionItemPriority.P3,
    kind: str = ActionItemKind.PREVENT,
    description: str = "",
    success_criteria: str = "",
    ticket_url: str = "",
    now: datetime | None = None,
) -> ActionItem:
    now = now or timezone.now()
    require(actor, Action.RESPOND, incident)
    item = ActionItem(
        incident=incident,
        title=title.strip(),
        owner=owner,
        team=team or incident.team,
        due_date=due_date or default_due_date(incident=incident, now=now),
        priority=priority,
        kind=kind,
        description=description.strip(),
        success_criteria=success_criteria.strip(),
        ticket_url=ticket_url.strip(),
        created_by=actor_user(actor),
        created_at=now,
        updated_at=now,
    )
    _check(item)
    item.next_reminder_at = next_reminder_at(item, now=now)
    with transaction.atomic():
        item.save()
    return item


def action_item_update(
    *, item: ActionItem, actor: Actor, changes: dict[str, Any], now: datetime | None = None
) -> ActionItem:
    """Apply `changes` (any of EDITABLE_FIELDS). Reopening a won't-do clears its reason."""
    now = now or timezone.now()
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    with transaction.atomic():
        item = ActionItem.objects.select_for_update().select_related("incident").get(pk=item.pk)
        require(actor, Action.RESPOND, item.incident)
        for name, value in changes.items():
            setattr(item, name, value.strip() if isinstance(value, str) else value)
        if item.status != ActionItemStatus.WONT_DO and "wont_do_reason" not in changes:
            item.wont_do_reason = ""
        _check(item)
        if item.is_closed and item.closed_at is None:
            item.closed_at = now
        elif not item.is_closed:
            item.closed_at = None
        item.updated_at = now
        item.next_reminder_at = next_reminder_at(item, now=now)
        item.save()
    return item
