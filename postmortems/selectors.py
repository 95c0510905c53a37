"""Reads for postmortems: permission-aware fetches and the list, in a fixed number of queries.

A postmortem is visible to whoever may see its incident (incidents.selectors.incidents_visible_to:
a private incident's only to its participants and admins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Func, Prefetch, Q, QuerySet, TextField
from django.db.models.functions import TruncMonth
from django.db.models.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from django.db.models.sql.compiler import _AsSqlType

from accounts.models import User
from incidents.models import Incident, Service
from incidents.selectors import REF_PATTERN, incidents_visible_to, users_who_can_respond_to
from postmortems.models import (
    ContributingFactor,
    Postmortem,
    ReviewComment,
    ReviewRequest,
)


class SectionText(Func):
    """The words of a postmortem's sections: their bodies joined, without the JSON's keys and
    markers (searching the stored JSON as text would find every document for "body", or for
    "rate" in "generated") and without the header (document.HEADER_KEY), whose status and
    date go stale. One expression per database: PostgreSQL, and the SQLite of `make run`."""

    output_field = TextField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        template = (
            "(SELECT string_agg(section->>'body', ' ') "
            "FROM jsonb_array_elements(%(expressions)s) AS section "
            "WHERE section->>'key' <> 'header')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        template = (
            "(SELECT group_concat(json_extract(section.value, '$.body'), ' ') "
            "FROM json_each(%(expressions)s) AS section "
            "WHERE json_extract(section.value, '$.key') <> 'header')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def postmortems_visible_to(user: User) -> QuerySet[Postmortem]:
    return Postmortem.objects.filter(incident__in=incidents_visible_to(user))


def postmortem_get_for_user(*, user: User, number: int) -> Postmortem:
    """The postmortem of incident `number` if `user` may see it; Postmortem.DoesNotExist
    otherwise (no such incident, no postmortem, or not theirs to see)."""
    return (
        postmortems_visible_to(user)
        .select_related("incident", "incident__severity", "incident__team", "published_by")
        .get(incident__number=number)
    )


@dataclass
class PostmortemFilters:
    # Words of the postmortem's or the incident's title, the incident's summary or resolution,
    # or the document's sections; or a reference, "INC-42".
    query: str = ""
    statuses: Sequence[str] = ()  # PostmortemStatus values: any of them
    severities: Sequence[str] = ()  # severities' names: any of them
    team: str = ""  # slug
    service: str = ""  # slug
    factor: str = ""  # a contributing factor's slug
    month: date | None = None  # any day of it: the month the incident began, organisation's zone


def _organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.ORGANISATION_TIME_ZONE)


def month_bounds(month: date) -> tuple[datetime, datetime | None]:
    """The first moment of `month` and of the month after, in the organisation's zone; no
    end for December 9999, the last month a date can hold."""
    first = month.replace(day=1)
    zone = _organisation_zone()
    start = datetime.combine(first, time(0), zone)
    if (first.year, first.month) == (date.max.year, 12):
        return start, None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return start, datetime.combine(following, time(0), zone)


def _words_match(query: str) -> Q:
    """Every word, in any order, somewhere in the postmortem's title, its incident's title,
    summary or resolution, or the document's text (annotated as `section_text`)."""
    match = Q()
    for word in query.split():
        match &= (
            Q(title__icontains=word)
            | Q(incident__title__icontains=word)
            | Q(incident__summary__icontains=word)
            | Q(incident__resolution__icontains=word)
            | Q(section_text__icontains=word)
        )
    return match


def postmortem_list(
    *, user: User, filters: PostmortemFilters | None = None
) -> QuerySet[Postmortem]:
    """The postmortems `user` may see, newest incident first, with what the list shows."""
    filters = filters or PostmortemFilters()
    postmortems = postmortems_visible_to(user)
    if filters.statuses:
        postmortems = postmortems.filter(status__in=filters.statuses)
    if filters.severities:
        postmortems = postmortems.filter(incident__severity__name__in=filters.severities)
    if filters.team:
        postmortems = postmortems.filter(incident__team__slug=filters.team)
    # Through subqueries, not joins: a join to a many-to-many relation repeats rows.
    if filters.service:
        postmortems = postmortems.filter(
            incident__in=Incident.objects.filter(services__slug=filters.service).values("pk")
        )
    if filters.factor:
        postmortems = postmortems.filter(
            pk__in=Postmortem.objects.filter(contributing_factors__slug=filters.factor).values("pk")
        )
    if filters.month is not None:
        start, end = month_bounds(filters.month)
        postmortems = postmortems.filter(incident__started_at__gte=start)
        if end is not None:
            postmortems = postmortems.filter(incident__started_at__lt=end)
    if filters.query.strip():
        ref = REF_PATTERN.match(filters.query)
        if ref and filters.query.strip().lower().startswith("inc"):
            # "INC-1" is that incident; as words it would find INC-10 to INC-19 too.
            postmortems = postmortems.filter(incident__number=int(ref[1]))
        else:
            # Bare digits may be either: "500" is an incident's number and an error code.
            text = _words_match(filters.query)
            postmortems = postmortems.annotate(section_text=SectionText("sections")).filter(
                text | Q(incident__number=int(ref[1])) if ref else text
            )
    return (
        postmortems.select_related("incident", "incident__severity", "incident__team")
        .prefetch_related(
            Prefetch("incident__services", queryset=Service.objects.order_by("name")),
            Prefetch("contributing_factors", queryset=ContributingFactor.objects.order_by("name")),
        )
        .order_by("-incident__started_at", "-pk")
    )


def postmortem_months(*, user: User) -> list[date]:
    """The months (their first day, organisation's zone) in which an incident with a postmortem
    `user` may see began, newest first: the list's month filter offers these."""
    months = (
        postmortems_visible_to(user)
        .annotate(month=TruncMonth("incident__started_at", tzinfo=_organisation_zone()))
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )
    return [month.date() for month in months]


def people_who_may_respond_to(incident: Incident) -> QuerySet[User]:
    """The people a postmortem can name as authors and reviewers."""
    return users_who_can_respond_to(incident)


def postmortem_reviews(postmortem: Postmortem) -> QuerySet[ReviewRequest]:
    return postmortem.reviews.select_related("reviewer", "requested_by").order_by(
        "requested_at", "pk"
    )


def postmortem_comments(postmortem: Postmortem) -> QuerySet[ReviewComment]:
    return postmortem.comments.select_related("author").order_by("created_at", "pk")
