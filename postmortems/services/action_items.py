"""Action items: created from the postmortem or the incident page, owned, due, and followed
until done or declined with a reason.

An item's reminder timer (`next_reminder_at`) is set here whenever what it depends on changes
(owner, due date, closing or reopening), so closing an item or taking its owner away stops its
reminders in the same transaction. Other edits leave the timer alone: recomputing it from
`now` would skip a reminder that is due this minute and not yet claimed by the tick.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents.models import Incident, Team
from incidents.permissions import Action, can, require
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
# A due date further out is a typo (and year 9999 has no day after it to be overdue from).
MAX_DUE_DAYS = 5 * 366
# The due-date rule in words, for the API's schema.
DUE_DATE_RULE = (
    "Today or later in the organisation's time zone, and within five years; checked when it "
    "is set, so an item that has become overdue can still be edited."
)
MAX_TEXT = 10_000
TITLE_MAX = ActionItem._meta.get_field("title").max_length or 200
TICKET_URL_MAX = ActionItem._meta.get_field("ticket_url").max_length or 500

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
TEXT_FIELDS = ("title", "description", "wont_do_reason", "success_criteria", "ticket_url")
# What the reminder timer depends on, besides whether the item is closed.
REMINDER_FIELDS = frozenset(("owner", "due_date"))

_ticket_url = URLValidator(schemes=["http", "https"])


def default_due_days(incident: Incident) -> int:
    """How long the incident's severity gives a new item (SEV1 14 days, …)."""
    days = (
        PostmortemPolicy.objects.filter(severity_id=incident.severity_id)
        .values_list("action_item_due_days", flat=True)
        .first()
    )
    return DEFAULT_DUE_DAYS if days is None else days


def default_due_date(*, incident: Incident, now: datetime | None = None) -> date:
    """Today in the organisation's zone plus the severity's days."""
    return organisation_today(now) + timedelta(days=default_due_days(incident))


def may_own(user: User, incident: Incident) -> bool:
    """Owners must be able to see the item and change it: responders (managers, admins) who
    may see the incident, so a private incident's items go to its participants only."""
    return can(user, Action.RESPOND, incident)


def _check(item: ActionItem, *, changed: set[str], now: datetime) -> None:
    """Raise ValidationError naming each field that is wrong. Owner and due date are checked
    when they are set (`changed`), so an item whose owner has since left can still be closed."""
    errors: dict[str, str] = {}
    if not item.title:
        errors["title"] = "Give the action item a title."
    elif len(item.title) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters."
    for name in ("description", "success_criteria", "wont_do_reason"):
        if len(getattr(item, name)) > MAX_TEXT:
            errors[name] = f"Keep this under {MAX_TEXT:,} characters."
    if item.status == ActionItemStatus.WONT_DO and not item.wont_do_reason:
        errors["wont_do_reason"] = "Say why this will not be done."
    if item.priority not in ActionItemPriority.values:
        errors["priority"] = f"Choose one of {', '.join(ActionItemPriority.values)}."
    if item.kind not in ActionItemKind.values:
        errors["kind"] = f"Choose one of {', '.join(ActionItemKind.values)}."
    if item.status not in ActionItemStatus.values:
        errors["status"] = f"Choose one of {', '.join(ActionItemStatus.values)}."
    if item.ticket_url:
        if len(item.ticket_url) > TICKET_URL_MAX:
            errors["ticket_url"] = f"Keep the link under {TICKET_URL_MAX} characters."
        else:
            try:
                _ticket_url(item.ticket_url)
            except ValidationError:
                errors["ticket_url"] = "Give a link starting with http:// or https://."
    if "owner" in changed and item.owner is not None:
        if not item.owner.is_active:
            errors["owner"] = f"{item.owner.display_name} can no longer sign in."
        elif not may_own(item.owner, item.incident):
            errors["owner"] = (
                f"{item.owner.display_name} may not work on {item.incident.ref}: owners must be "
                f"responders who can see the incident."
            )
    if "due_date" in changed:
        today = organisation_today(now)
        if item.due_date < today:
            errors["due_date"] = "The due date has passed; choose today or a later day."
        elif item.due_date > today + timedelta(days=MAX_DUE_DAYS):
            errors["due_date"] = "Choose a due date within five years."
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
    """A new open item; due by the severity's default when no date is given, for the
    incident's team when no team is."""
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
    _check(item, changed={"owner", "due_date"}, now=now)
    item.next_reminder_at = next_reminder_at(item, now=now)
    with transaction.atomic():
        item.save(force_insert=True)
    return item


def action_item_update(
    *, item: ActionItem, actor: Actor, changes: dict[str, Any], now: datetime | None = None
) -> ActionItem:
    """Apply `changes` (any of EDITABLE_FIELDS); the reason for won't do is kept only while
    the item is won't do. Changing nothing writes nothing."""
    now = now or timezone.now()
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    with transaction.atomic():
        # Only the item's row: locking the joined incident would hold up every timeline entry
        # written for it meanwhile (DESIGN.md, "State changes go through services").
        item = (
            ActionItem.objects.select_for_update(of=("self",))
            .select_related("incident", "owner")
            .get(pk=item.pk)
        )
        require(actor, Action.RESPOND, item.incident)
        was_closed = item.is_closed
        changed = set()
        for name, value in changes.items():
            if name in TEXT_FIELDS:
                value = (value or "").strip()
            if name in ("owner", "team"):
                before = getattr(item, f"{name}_id")
                after = value.pk if value is not None else None
            else:
                before, after = getattr(item, name), value
            if before != after:
                setattr(item, name, value)
                changed.add(name)
        if item.status != ActionItemStatus.WONT_DO and item.wont_do_reason:
            item.wont_do_reason = ""
            changed.add("wont_do_reason")
        if not changed:
            return item
        _check(item, changed=changed, now=now)
        fields = [*sorted(changed), "updated_at"]
        if "status" in changed:
            closed_at = (item.closed_at or now) if item.is_closed else None
            if closed_at != item.closed_at:
                item.closed_at = closed_at
                fields.append("closed_at")
        if changed & REMINDER_FIELDS or item.is_closed != was_closed:
            item.next_reminder_at = next_reminder_at(item, now=now)
            fields.append("next_reminder_at")
        item.updated_at = now
        item.save(update_fields=fields)
    return item
