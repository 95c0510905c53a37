"""Reads: permission-aware querysets for lists, pages and the API."""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import (
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from accounts.models import Role, User
from incidents.models import (
    CLOSED_LAST,
    OPEN_STATUSES,
    ChecklistItem,
    Incident,
    RoleAssignment,
    StatusUpdate,
    Team,
    TimelineEvent,
)

REF_PATTERN = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.IGNORECASE)


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    """Private incidents are visible to their participants and admins only.

    Declaring and every role assignment add to participants, so the one relation decides, as
    permissions.is_participant does.
    """
    incidents = Incident.objects.all()
    if user.is_admin:
        return incidents
    # An IN over the user's participations (not a correlated EXISTS) is hashed once per query,
    # and PostgreSQL costs it so: with EXISTS it costs a probe per row, overestimates a count
    # over 100,000 incidents thirtyfold and spends ~10 ms compiling it with JIT.
    participates = Incident.participants.through.objects.filter(user_id=user.pk)
    return incidents.filter(Q(private=False) | Q(pk__in=participates.values("incident_id")))


@dataclass
class IncidentFilters:
    statuses: list[str] = field(default_factory=list)  # also "open" for every open status
    severities: list[str] = field(default_factory=list)  # "SEV1"
    team: str = ""  # slug
    service: str = ""  # slug
    mine: bool = False
    query: str = ""


def incident_list(*, user: User, filters: IncidentFilters | None = None) -> QuerySet[Incident]:
    """Open incidents first, newest first within each group."""
    filters = filters or IncidentFilters()
    incidents = incidents_visible_to(user)
    statuses = set(filters.statuses)
    if "open" in statuses:
        statuses.discard("open")
        statuses.update(OPEN_STATUSES)
    if statuses:
        incidents = incidents.filter(status__in=statuses)
    if filters.severities:
        incidents = incidents.filter(severity__name__in=filters.severities)
    if filters.team:
        incidents = incidents.filter(team__slug=filters.team)
    if filters.service:
        incidents = incidents.filter(services__slug=filters.service)
    if filters.mine:
        holds_role = RoleAssignment.objects.filter(incident_id=OuterRef("pk"), user_id=user.pk)
        incidents = incidents.filter(Q(commander=user) | Q(declared_by=user) | Exists(holds_role))
    if filters.query:
        match = REF_PATTERN.match(filters.query)
        text = _words_match(filters.query)
        incidents = incidents.filter(text | Q(number=int(match[1])) if match else text)
    return (
        incidents.select_related("severity", "team", "commander")
        .annotate(closed=CLOSED_LAST)
        .order_by("closed", "-declared_at", "-number")
    )


def _words_match(query: str) -> Q:
    """Every word of `query`, in any order, in the title or the summary: people type the words
    they remember ("checkout 500"), not the phrase. Plain icontains works on SQLite too."""
    match = Q()
    for word in query.split():
        match &= Q(title__icontains=word) | Q(summary__icontains=word)
    return match


def incident_get_for_user(*, user: User, number: int) -> Incident:
    """The incident with that number if `user` may see it; Incident.DoesNotExist otherwise."""
    return (
        incidents_visible_to(user)
        .select_related("severity", "team", "commander", "declared_by", "merged_into")
        .prefetch_related(
            "services",
            Prefetch("roles", queryset=RoleAssignment.objects.select_related("user")),
        )
        .get(number=number)
    )


def incident_version(*, updated_at: datetime, timeline_count: int) -> str:
    """What the incident page shows, as one string: a change to the incident's row moves
    updated_at, and everything else on the page (notes, roles, the checklist, status updates,
    alerts, pages, merges) adds to its timeline. The page's polls compare it (ETag)."""
    return f"{updated_at.timestamp():.6f}-{timeline_count}"


def incident_live_version(*, user: User, number: int) -> str:
    """The incident's version (incident_version) in one query, if `user` may see it;
    Incident.DoesNotExist otherwise. What a poll of an unchanged incident costs."""
    count = (
        TimelineEvent.objects.filter(incident_id=OuterRef("pk"))
        .order_by()
        .values("incident_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    updated_at, timeline_count = (
        incidents_visible_to(user)
        .filter(number=number)
        .annotate(timeline_count=Coalesce(Subquery(count), 0))
        .values_list("updated_at", "timeline_count")
        .get()
    )
    return incident_version(updated_at=updated_at, timeline_count=timeline_count)


@dataclass(frozen=True)
class ListState:
    """How many incidents a list holds and when the latest of them changed: the list's
    version. An incident that joins the list was changed last, one that leaves it lowers the
    count, and a change to one in it moves the latest time."""

    count: int
    latest: datetime | None

    @property
    def version(self) -> str:
        latest = self.latest.timestamp() if self.latest else 0
        return f"{latest:.6f}-{self.count}"


def incident_list_state(incidents: QuerySet[Incident]) -> ListState:
    """One aggregate over a list from incident_list: the pagination's count and the version."""
    state = incidents.order_by().aggregate(count=Count("pk"), latest=Max("updated_at"))
    return ListState(count=state["count"], latest=state["latest"])


def incident_timeline(*, incident: Incident) -> QuerySet[TimelineEvent]:
    return incident.timeline.select_related("actor").order_by("occurred_at", "id")


def incident_checklist(*, incident: Incident) -> QuerySet[ChecklistItem]:
    return incident.checklist.select_related("done_by").order_by("position")


def incident_status_updates(*, incident: Incident) -> QuerySet[StatusUpdate]:
    return incident.updates.select_related("author").order_by("-posted_at", "-id")


def users_who_can_respond() -> QuerySet[User]:
    """Active users who may hold an incident role or be paged: User.can_respond in SQL (a test
    holds the two equal). The one query for "who can respond"; pickers in other apps use it."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(role__in=[Role.RESPONDER, Role.MANAGER, Role.ADMIN]))
        .order_by("first_name", "last_name", "username")
    )


def users_who_can_respond_to(incident: Incident) -> QuerySet[User]:
    """Active users who may respond to `incident`, and so see it: permissions.can(user,
    Action.RESPOND, incident) in SQL (a test holds the two equal). For a private incident:
    its participants and admins."""
    people = users_who_can_respond()
    if incident.private:
        participants = Incident.participants.through.objects.filter(incident_id=incident.pk)
        people = people.filter(
            Q(is_superuser=True) | Q(role=Role.ADMIN) | Q(pk__in=participants.values("user_id"))
        )
    return people


def incident_counts_by_status_and_severity() -> list[tuple[tuple[str, str], int]]:
    """How many incidents are in each (status, severity name), for /metrics; one aggregate."""
    rows = Incident.objects.values("status", "severity__name").annotate(n=Count("id")).order_by()
    return [((row["status"], row["severity__name"]), row["n"]) for row in rows]


def team_of(user: User) -> Team | None:
    """The one team `user` is a member of, None for none or several: the declare form's guess."""
    teams = list(Team.objects.filter(members=user).order_by("pk")[:2])
    return teams[0] if len(teams) == 1 else None


def team_list(*, user: User) -> QuerySet[Team]:
    """Every team with `member_count` and `open_incident_count`, counting only the incidents
    `user` may see: a private incident's existence is not the outsider's to know."""
    # A correlated subquery, not a join: joined to members too, each would multiply the other.
    open_incidents = (
        incidents_visible_to(user)
        .filter(team_id=OuterRef("pk"), status__in=OPEN_STATUSES)
        .order_by()  # the default ordering would join the GROUP BY
        .values("team_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Team.objects.annotate(
        member_count=Count("members"),
        open_incident_count=Coalesce(Subquery(open_incidents), 0),
    ).order_by("name")


def team_get(*, slug: str) -> Team:
    """The team with that slug, with its leads, members and services; Team.DoesNotExist if none."""
    people = User.objects.order_by("first_name", "last_name", "username")
    return Team.objects.prefetch_related(
        Prefetch("leads", queryset=people),
        Prefetch("members", queryset=people),
        "services",
    ).get(slug=slug)
