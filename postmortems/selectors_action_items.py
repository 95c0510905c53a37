"""Reads: action items as a user may see them (those of incidents they can see), for the
pages, the incident panel and the API. The report over them is postmortems/report.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When

from accounts.models import User
from incidents.models import Incident
from incidents.selectors import incidents_visible_to, users_who_can_respond_to
from postmortems.models import CLOSED_ACTION_ITEM_STATUSES, ActionItem, ActionItemStatus
from postmortems.services.reminders import organisation_today

# The status filter's "open" means not closed: open or in progress.
NOT_CLOSED = "not_closed"
NOT_CLOSED_STATUSES = tuple(
    status for status in ActionItemStatus.values if status not in CLOSED_ACTION_ITEM_STATUSES
)


def overdue_q(today: date, *, through: str = "") -> Q:
    """Not closed and its due date has ended (organisation's zone): due yesterday or before.
    `through` reaches the items from another model ("incident__action_items__"). Said without
    a negation, which would also count the missing items of a LEFT JOIN there."""
    return Q(**{f"{through}due_date__lt": today, f"{through}status__in": NOT_CLOSED_STATUSES})


def is_overdue(item: ActionItem, *, today: date) -> bool:
    """overdue_q for one item in hand."""
    return not item.is_closed and item.due_date < today


# What an item is shown with, on the pages and in the API: its incident's ref, severity and
# team, its owner, team and creator.
_RELATED = ("incident__severity", "incident__team", "owner", "team", "created_by")


def _listed(items: QuerySet[ActionItem]) -> QuerySet[ActionItem]:
    """Those still to do first (soonest due first, so the overdue lead), then the closed."""
    closed = Case(
        When(status__in=CLOSED_ACTION_ITEM_STATUSES, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return (
        items.select_related(*_RELATED)
        .alias(closed=closed)
        .order_by("closed", "due_date", "priority", "pk")
    )


def action_items_visible_to(user: User) -> QuerySet[ActionItem]:
    """Items of incidents `user` may see (a private incident's to its participants only)."""
    return ActionItem.objects.filter(incident__in=incidents_visible_to(user))


def action_item_get_for_user(*, user: User, pk: int) -> ActionItem:
    """The item if `user` may see its incident; ActionItem.DoesNotExist otherwise."""
    return action_items_visible_to(user).select_related(*_RELATED).get(pk=pk)


@dataclass
class ActionItemFilters:
    statuses: Sequence[str] = ()  # ActionItemStatus values or NOT_CLOSED: any of them
    owner: str = ""  # a username
    unowned: bool = False
    team_slug: str = ""
    overdue: bool | None = None  # True: only overdue items; False: only the others
    incident: int | None = None  # its number


def action_item_list(
    *, user: User, filters: ActionItemFilters | None = None, now: datetime | None = None
) -> QuerySet[ActionItem]:
    """The items `user` may see, filtered, in _listed's order."""
    filters = filters or ActionItemFilters()
    items = action_items_visible_to(user)
    if filters.statuses:
        statuses = set(filters.statuses)
        if NOT_CLOSED in statuses:
            statuses = (statuses - {NOT_CLOSED}) | set(NOT_CLOSED_STATUSES)
        items = items.filter(status__in=sorted(statuses))
    if filters.owner:
        items = items.filter(owner__username=filters.owner)
    elif filters.unowned:
        items = items.filter(owner__isnull=True)
    if filters.team_slug:
        items = items.filter(team__slug=filters.team_slug)
    if filters.overdue is not None:
        overdue = overdue_q(organisation_today(now))
        items = items.filter(overdue if filters.overdue else ~overdue)
    if filters.incident is not None:
        items = items.filter(incident__number=filters.incident)
    return _listed(items)


def my_action_items(
    *, user: User, status: str = "", now: datetime | None = None
) -> QuerySet[ActionItem]:
    """`user`'s own items, as action_item_list orders them."""
    filters = ActionItemFilters(statuses=[status] if status else [], owner=user.username)
    return action_item_list(user=user, filters=filters, now=now)


def incident_action_items(*, incident: Incident) -> list[ActionItem]:
    """An incident's items for its pages, in _listed's order (the caller may see it)."""
    return list(_listed(ActionItem.objects.filter(incident=incident)))


def possible_owners(*, incident: Incident, keep: User | None = None) -> QuerySet[User]:
    """Who may own the incident's items (services.action_items.may_own, in SQL): active
    responders, managers and admins who may see it; `keep` (the current owner) besides."""
    people = users_who_can_respond_to(incident)
    if keep is not None:
        people = User.objects.filter(Q(pk__in=people.values("pk")) | Q(pk=keep.pk))
    return people.order_by("first_name", "last_name", "username")


def people_owning_items(*, user: User) -> QuerySet[User]:
    """Owners of the items `user` may see, for the owner filter."""
    owners = action_items_visible_to(user).values("owner_id")
    return User.objects.filter(pk__in=owners).order_by("first_name", "last_name", "username")
