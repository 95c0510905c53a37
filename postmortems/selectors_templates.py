"""Reads for the template pages: the templates, and the incidents a preview can use."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from incidents.models import Incident, Status
from incidents.selectors import incidents_visible_to
from postmortems.models import PostmortemTemplate

# How many resolved incidents the preview offers, most recently resolved first.
PREVIEW_INCIDENTS = 25


def template_list() -> QuerySet[PostmortemTemplate]:
    return PostmortemTemplate.objects.select_related("updated_by").order_by("-is_default", "name")


def template_get(*, pk: int) -> PostmortemTemplate:
    return PostmortemTemplate.objects.select_related("updated_by").get(pk=pk)


def preview_incidents(*, user: User) -> list[Incident]:
    return list(
        incidents_visible_to(user)
        .filter(status=Status.RESOLVED)
        .select_related("severity")
        .only("number", "title", "resolved_at", "severity__name")
        .order_by("-resolved_at", "-number")[:PREVIEW_INCIDENTS]
    )


def preview_incident(*, user: User, number: int) -> Incident:
    """Incident.DoesNotExist unless `user` may see it."""
    return incidents_visible_to(user).get(number=number)
