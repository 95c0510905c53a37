"""Reads the API serves: postmortems and action items the caller may see, filtered.

Visibility is the incident's (incidents.selectors.incidents_visible_to): a private incident's
postmortem and action items are seen by its participants and admins only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from incidents.models import Incident
from incidents.selectors import REF_PATTERN, incidents_visible_to
from postmortems.models import (
    CLOSED_ACTION_ITEM_STATUSES,
    ActionItem,
    Postmortem,
    ReviewRequest,
)
from postmortems.services.reminders import organisation_today, organisation_zone

# The "owner" filter's word for the caller.
OWNER_ME = "me"


def _visible_incidents(user: User) -> QuerySet[Incident, Any]:
    return incidents_visible_to(user).values("pk")


def postmortem_get_for_user(*, user: User, number: int) -> Postmortem:
    """The postmortem of incident `number` if `user` may see the incident;
    Postmortem.DoesNotExist otherwise (no incident, not visible, or no postmortem)."""
    return (
        Postmortem.objects.filter(incident_id__in=_visible_incidents(user))
        .select_related("incident__severity", "incident__team")
        .prefetch_related(
            "authors",
            "contributing_factors",
            Prefetch("reviews", queryset=ReviewRequest.objects.select_related("reviewer")),
        )
        .get(incident__number=number)
    )


@dataclass
class PostmortemFilters:
    statuses: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)  # "SEV1"
    team: str = ""  # slug
    service: str = ""  # slug
    month: date | None = None  # its first day: incidents whose impact began that month
    contributing_factor: str = ""  # slug
    query: str = ""


def month_bounds(first_day: date) -> tuple[datetime, datetime | None]:
    """The month starting `first_day` in the organisation's zone, as [start, end); no end
    for the last month a date can hold."""
    zone = organisation_zone()
    start = datetime(first_day.year, first_day.month, 1, tzinfo=zone)
    if first_day.month == 12 and first_day.year == date.max.year:
        return start, None
    following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, datetime(following.year, following.month, 1, tzinfo=zone)


def postmortem_list(
    *, user: User, filters: PostmortemFilters | None = None
) -> QuerySet[Postmortem]:
    """Newest first."""
    filters = filters or PostmortemFilters()
    postmortems = Postmortem.objects.filter(incident_id__in=_visible_incidents(user))
    if filters.statuses:
        postmortems = postmortems.filter(status__in=filters.statuses)
    if filters.severities:
        postmortems = postmortems.filter(incident__severity__name__in=filters.severities)
    if filters.team:
        postmortems = postmortems.filter(incident__team__slug=filters.team)
    if filters.service:
        # An incident has a service once at most: the join adds no duplicate rows.
        postmortems = postmortems.filter(incident__services__slug=filters.service)
    if filters.contributing_factor:
        postmortems = postmortems.filter(contributing_factors__slug=filters.contributing_factor)
    if filters.month is not None:
        start, end = month_bounds(filters.month)
        postmortems = postmortems.filter(incident__started_at__gte=start)
        if end is not None:
            postmortems = postmortems.filter(incident__started_at__lt=end)
    if filters.query:
        match = REF_PATTERN.match(filters.query)
        text = Q()
        for word in filters.query.split():
            text &= Q(title__icontains=word) | Q(incident__title__icontains=word)
        postmortems = postmortems.filter(
            text | Q(incident__number=int(match[1])) if match else text
        )
    return (
        postmortems.select_related("incident__severity", "incident__team")
        .prefetch_related("authors", "contributing_factors")
        .order_by("-created_at", "-id")
    )


@dataclass
class ActionItemFilters:
    owner: str = ""  # a username, or OWNER_ME
    statuses: list[str] = field(default_factory=list)
    overdue: bool | None = None
    incident: int | None = None  # its number
    team: str = ""  # slug


def overdue_q(now: datetime | None = None) -> Q:
    """Open items past the end of their due date in the organisation's zone
    (postmortems.services.reminders.overdue_from)."""
    today = organisation_today(now or timezone.now())
    return Q(due_date__lt=today) & ~Q(status__in=CLOSED_ACTION_ITEM_STATUSES)


def action_items_visible_to(user: User) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(incident_id__in=_visible_incidents(user)).select_related(
        "incident__severity", "incident__team", "owner", "team", "created_by"
    )


def action_item_list(
    *, user: User, filters: ActionItemFilters | None = None, now: datetime | None = None
) -> QuerySet[ActionItem]:
    """Soonest due first, then the most urgent."""
    filters = filters or ActionItemFilters()
    items = action_items_visible_to(user)
    if filters.owner:
        username = user.username if filters.owner == OWNER_ME else filters.owner
        items = items.filter(owner__username=username)
    if filters.statuses:
        items = items.filter(status__in=filters.statuses)
    if filters.overdue is not None:
        overdue = overdue_q(now)
        items = items.filter(overdue if filters.overdue else ~overdue)
    if filters.incident is not None:
        items = items.filter(incident__number=filters.incident)
    if filters.team:
        items = items.filter(team__slug=filters.team)
    return items.order_by("due_date", "priority", "id")


def action_item_get_for_user(*, user: User, pk: int) -> ActionItem:
    """ActionItem.DoesNotExist unless `user` may see the item's incident."""
    return action_items_visible_to(user).get(pk=pk)
