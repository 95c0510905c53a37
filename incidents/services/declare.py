"""Declaring an incident."""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents import events
from incidents.models import (
    EventKind,
    Incident,
    IncidentCounter,
    RoleKind,
    Service,
    Severity,
    Source,
    Team,
)
from incidents.permissions import Action, require
from incidents.services.base import check_input
from incidents.services.roles import assign_role
from incidents.timeline import incident_record_event


def _next_number() -> int:
    # The UPDATE holds the counter's row lock until commit, so numbers never repeat and a
    # rolled-back declaration leaves no gap. The row is seeded by a migration but gone after
    # `manage.py flush`; get_or_create lets racing first declarations agree on one row.
    IncidentCounter.objects.get_or_create(pk=1)
    IncidentCounter.objects.filter(pk=1).update(last_number=F("last_number") + 1)
    return IncidentCounter.objects.values_list("last_number", flat=True).get(pk=1)


def incident_declare(
    *,
    actor: Actor,
    title: str,
    severity: Severity,
    summary: str = "",
    services: Iterable[Service] = (),
    team: Team | None = None,
    private: bool = False,
    commander: User | None = None,
    source: Source = Source.WEB,
    labels: dict[str, str] | None = None,
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    drill: bool = False,
) -> Incident:
    require(actor, Action.DECLARE)
    title = title.strip()
    if not title:
        raise ValidationError({"title": "A title is required."})
    now = timezone.now()
    detected_at = detected_at or now
    started_at = started_at or detected_at
    check_input(
        {"title": title, "summary": summary, "labels": labels or {}},
        {"started_at": started_at, "detected_at": detected_at},
        now=now,
    )
    with transaction.atomic():
        incident = Incident.objects.create(
            number=_next_number(),
            title=title,
            summary=summary,
            severity=severity,
            team=team,
            private=private,
            source=source,
            labels=labels or {},
            drill=drill,
            declared_by=actor_user(actor),
            started_at=started_at,
            detected_at=detected_at,
            declared_at=now,
        )
        incident.services.set(list(services))
        if isinstance(actor, User):
            incident.participants.add(actor)
        declared = incident_record_event(
            incident=incident,
            kind=EventKind.DECLARED,
            actor=actor,
            source=source,
            message=(
                f"{actor.display_name} declared {incident.ref} as {severity.name}"
                f"{' (a drill)' if drill else ''}: {title}"
            ),
            data={"severity": severity.name, "private": private, "drill": drill},
            at=now,
        )
        # Published before the commander's role so subscribers hear of the incident first.
        events.publish(
            events.IncidentDeclared(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=declared.pk
            )
        )
        if commander is not None:
            assign_role(
                incident, actor=actor, role=RoleKind.COMMANDER, user=commander, source=source
            )
    return incident
