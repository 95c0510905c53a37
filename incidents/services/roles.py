"""Who works on an incident: its roles, the commander's checklist, and the people paged for it."""

import enum
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents import events
from incidents.models import (
    COMMANDER_CHECKLIST,
    SINGLE_HOLDER_ROLES,
    ChecklistItem,
    EventKind,
    Incident,
    RoleAssignment,
    RoleKind,
    Source,
)
from incidents.permissions import Action
from incidents.services.base import lock_for
from incidents.timeline import incident_record_event
from incidents.transitions import IncidentConflict, StaleIncident


class Unchecked(enum.Enum):
    """No expected value was given: a caller that saw nothing (a task, an old client)."""

    UNCHECKED = enum.auto()


UNCHECKED = Unchecked.UNCHECKED


def incident_assign_role(
    *,
    incident: Incident,
    actor: Actor,
    role: RoleKind,
    user: User,
    source: Source = Source.WEB,
    expected_holder: User | Unchecked | None = UNCHECKED,
) -> RoleAssignment:
    """`expected_holder`: who the actor saw holding a single-holder role (None: nobody); someone
    else refuses the assignment (StaleIncident). Subject experts are added, never replaced, so
    theirs is not checked."""
    with transaction.atomic():
        incident = lock_for(actor, Action.RESPOND, incident)
        if expected_holder is not UNCHECKED and role in SINGLE_HOLDER_ROLES:
            _check_expected_holder(incident, role, expected_holder)
        return assign_role(incident, actor=actor, role=role, user=user, source=source)


def _check_expected_holder(incident: Incident, role: RoleKind, expected: User | None) -> None:
    """Caller holds the incident's row lock, which every role change takes first."""
    holder = (
        RoleAssignment.objects.filter(incident=incident, role=role).select_related("user").first()
    )
    current = holder.user if holder else None
    if (current.pk if current else None) != (expected.pk if expected else None):
        raise StaleIncident(
            incident,
            field=RoleKind(role).label.lower(),
            current=current.display_name if current else "nobody",
            expected=expected.display_name if expected else "nobody",
        )


def assign_role(
    incident: Incident, *, actor: Actor, role: RoleKind, user: User, source: Source
) -> RoleAssignment:
    """Caller holds the incident's row lock inside a transaction."""
    # The type says RoleKind; a caller the type checker does not see (the shell, a test) may
    # still hand in any string, and gets a refusal rather than a row no page can show.
    if role not in RoleKind.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if not user.is_active or not user.can_respond:
        raise ValidationError({"user": f"{user.username} cannot take an incident role."})
    existing = RoleAssignment.objects.filter(incident=incident, role=role)
    if role in SINGLE_HOLDER_ROLES:
        if existing.filter(user=user).exists():
            raise IncidentConflict(
                f"{user.display_name} is already {RoleKind(role).label.lower()}."
            )
        existing.delete()
    elif existing.filter(user=user).exists():
        raise IncidentConflict(f"{user.display_name} is already a subject expert.")
    assignment = RoleAssignment.objects.create(
        incident=incident,
        role=role,
        user=user,
        assigned_by=actor_user(actor),
        assigned_at=timezone.now(),
    )
    incident.participants.add(user)
    label = RoleKind(role).label.lower()
    if role == RoleKind.COMMANDER:
        incident.commander = user
        incident.save(update_fields=["commander", "updated_at"])
        _ensure_checklist(incident)
        message = (
            f"{user.display_name} assumed command"
            if actor.pk == user.pk
            else f"{actor.display_name} made {user.display_name} incident commander"
        )
    else:
        message = f"{actor.display_name} assigned {user.display_name} as {label}"
    entry = incident_record_event(
        incident=incident,
        kind=EventKind.ROLE_ASSIGNED,
        actor=actor,
        source=source,
        message=message,
        data={"role": role, "user": user.username},
    )
    events.publish(
        events.IncidentRoleAssigned(
            incident_id=incident.pk,
            actor_id=actor.pk,
            role=role,
            user_id=user.pk,
            timeline_event_id=entry.pk,
        )
    )
    return assignment


def _ensure_checklist(incident: Incident) -> None:
    if not incident.checklist.exists():
        ChecklistItem.objects.bulk_create(
            ChecklistItem(incident=incident, position=i, title=title)
            for i, title in enumerate(COMMANDER_CHECKLIST, start=1)
        )


def checklist_item_set_done(
    *, item: ChecklistItem, actor: Actor, done: bool, source: Source = Source.WEB
) -> ChecklistItem:
    with transaction.atomic():
        incident = lock_for(actor, Action.RESPOND, item.incident)
        item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        if (item.done_at is not None) == done:
            return item
        item.done_at = timezone.now() if done else None
        item.done_by = actor_user(actor) if done else None
        item.save(update_fields=["done_at", "done_by"])
        verb = "ticked" if done else "unticked"
        incident_record_event(
            incident=incident,
            kind=EventKind.CHECKLIST,
            actor=actor,
            source=source,
            message=f"{actor.display_name} {verb} “{item.title}”",
            data={"item": item.position, "done": done},
        )
    return item


def incident_add_responders(*, incident: Incident, users: Iterable[User]) -> None:
    """Make people paged for the incident its participants, so they may see and act on it
    (a private incident shows only to participants). The page itself is on the timeline."""
    users = list(users)
    already = set(
        incident.participants.filter(pk__in=[u.pk for u in users]).values_list("pk", flat=True)
    )
    added = tuple(u.pk for u in users if u.pk not in already)
    if not added:
        return
    incident.participants.add(*users)
    # Published after commit, as every event: the Slack channel invites them then.
    events.publish(
        events.IncidentRespondersAdded(incident_id=incident.pk, actor_id=None, user_ids=added)
    )
