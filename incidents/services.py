"""Every change to an incident goes through here.

Each service runs in one transaction, locks the incident row, checks permissions and the
transition table, writes a TimelineEvent in the same transaction and publishes a domain event
after commit. Each takes the `actor` making the change: a user, or `accounts.actors.SYSTEM` for
Tocsin itself (alert ingestion, timers, commands); SYSTEM passes every permission check and is
recorded as no one (actor NULL).
"""

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Expression, F
from django.utils import timezone

from accounts.actors import Actor, actor_user
from accounts.models import User
from incidents import events
from incidents.locks import incident_lock
from incidents.models import (
    COMMANDER_CHECKLIST,
    SINGLE_HOLDER_ROLES,
    ChecklistItem,
    EventKind,
    Incident,
    IncidentCounter,
    RoleAssignment,
    RoleKind,
    Service,
    Severity,
    Source,
    Status,
    StatusUpdate,
    Team,
    TimelineEvent,
)
from incidents.permissions import Action, can_change_visibility, require
from incidents.timeline import incident_record_event
from incidents.transitions import (
    IllegalTransition,
    IncidentConflict,
    StaleIncident,
    transition_allowed,
    transition_is_backward,
)
from ops.text import UNSTORABLE_MESSAGE, unstorable_paths
from ops.timestamps import FUTURE_EVENT, event_time_error


class Unchecked(enum.Enum):
    """No expected value was given: a caller that saw nothing (a task, an old client)."""

    UNCHECKED = enum.auto()


UNCHECKED = Unchecked.UNCHECKED

IMPACT_IN_FUTURE = "The start of impact cannot be in the future."


# The timestamp stamped the first time an incident arrives at a status.
STATUS_TIMESTAMPS: dict[str, str] = {
    Status.ACKNOWLEDGED: "acknowledged_at",
    Status.IDENTIFIED: "identified_at",
    Status.MONITORING: "mitigated_at",
    Status.RESOLVED: "resolved_at",
}


def _lock_for(actor: Actor, action: Action, incident: Incident | int) -> Incident:
    """Lock the incident's row, then check `actor` may do `action` to it as the locked row
    stands. The caller is inside a transaction."""
    incident = incident_lock(incident)
    require(actor, action, incident)
    return incident


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
    _check_input(
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
            _assign_role(
                incident, actor=actor, role=RoleKind.COMMANDER, user=commander, source=source
            )
    return incident


def _check_input(texts: dict[str, Any], times: dict[str, datetime], *, now: datetime) -> None:
    """The last line behind the forms and serializers, for every caller: text PostgreSQL can
    store (labels' keys included) and times in the plausible window (ops.timestamps), the
    start of impact never in the future."""
    errors: dict[str, str] = {}
    for path in unstorable_paths(texts):
        errors.setdefault(path.split(".")[0], UNSTORABLE_MESSAGE)
    for name, value in times.items():
        if value > now:
            errors[name] = IMPACT_IN_FUTURE if name == "started_at" else FUTURE_EVENT
        elif error := event_time_error(value, now=now):
            errors[name] = error
    if errors:
        raise ValidationError(errors)


def incident_set_status(
    *,
    incident: Incident,
    actor: Actor,
    status: Status,
    source: Source = Source.WEB,
    message: str = "",
    expected_status: str | None = None,
) -> Incident:
    """`expected_status`: the status the actor saw; a different one refuses the move
    (StaleIncident), so a change made on a stale view is never applied."""
    if status == Status.RESOLVED:
        return incident_resolve(
            incident=incident,
            actor=actor,
            resolution=message,
            source=source,
            expected_status=expected_status,
        )
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        _check_expected_status(incident, expected_status)
        _change_status(incident, status, actor=actor, source=source, message=message)
    return incident


def _check_expected_status(incident: Incident, expected: str | None) -> None:
    """Caller holds the row lock, so the status cannot change between this and the write."""
    if expected is not None and incident.status != expected:
        raise StaleIncident(
            incident,
            field="status",
            current=Status(incident.status).label,
            expected=Status(expected).label if expected in Status.values else expected,
        )


def _change_status(
    incident: Incident, status: Status, *, actor: Actor, source: Source, message: str
) -> None:
    """Move an open incident as the transition table allows. Caller holds the row lock inside
    a transaction."""
    if not transition_allowed(incident.status, status):
        raise IllegalTransition(incident, status)
    now = timezone.now()
    old = Status(incident.status)
    kind = EventKind.ACKNOWLEDGED if status == Status.ACKNOWLEDGED else EventKind.STATUS_CHANGED
    acknowledged = _move(incident, status, actor=actor, now=now)
    if kind == EventKind.ACKNOWLEDGED:
        text = f"{actor.display_name} acknowledged {incident.ref}"
    elif transition_is_backward(old, status):
        text = f"{actor.display_name} moved {incident.ref} back from {old} to {status}"
    else:
        text = f"{actor.display_name} changed status from {old} to {status}"
    if message:
        text += f": {message}"
    entry = incident_record_event(
        incident=incident,
        kind=kind,
        actor=actor,
        source=source,
        message=text,
        data={"from": old, "to": status},
        at=now,
    )
    _publish_status_change(incident, actor=actor, old=old, acknowledged=acknowledged, entry=entry)


def _move(incident: Incident, status: Status, *, actor: Actor, now: datetime) -> bool:
    """Set the status and stamp first arrivals; True when this first stamped acknowledged_at.

    A stamp keeps its first time whatever happens later: moving back from monitoring leaves
    mitigated_at, arriving at identified again leaves identified_at, as a reopen leaves
    resolved_at (last_resolved_at follows every resolve, and a reopen counts itself). Reports
    measure time to identify, mitigate and resolve to these first arrivals; the relapse itself
    is on the timeline.

    Caller holds the row lock, and passes the `now` its timeline entry records, so a stamp and
    the entry about it carry the same time.
    """
    fields = ["status", "updated_at"]
    incident.status = status
    stamps = [STATUS_TIMESTAMPS[status]] if status in STATUS_TIMESTAMPS else []
    # A person who moves an incident on has seen it: that is an acknowledgement.
    if isinstance(actor, User) and status != Status.DETECTED:
        stamps.append("acknowledged_at")
    for field in stamps:
        if getattr(incident, field) is None:
            setattr(incident, field, now)
            fields.append(field)
    if status == Status.RESOLVED:
        # resolved_at keeps the first resolution; this one follows every resolve.
        incident.last_resolved_at = now
        fields.append("last_resolved_at")
    incident.save(update_fields=fields)
    return "acknowledged_at" in fields


def _publish_status_change(
    incident: Incident, *, actor: Actor, old: Status, acknowledged: bool, entry: TimelineEvent
) -> None:
    events.publish(
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=actor.pk,
            old_status=old,
            new_status=Status(incident.status),
            timeline_event_id=entry.pk,
        )
    )
    # The paging engine stops escalating on this, so it goes out exactly once per incident.
    if acknowledged:
        events.publish(
            events.IncidentAcknowledged(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=entry.pk
            )
        )


def incident_acknowledge(
    *, incident: Incident, actor: Actor, source: Source = Source.WEB
) -> Incident:
    """Acknowledge a detected incident; idempotent, as PagerDuty's acknowledge is.

    An incident already acknowledged or further along comes back unchanged, with nothing
    written or published, so a second click, Slack button or one-click link is harmless.
    A resolved incident cannot be acknowledged.
    """
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        if incident.status not in (Status.DETECTED, Status.RESOLVED):
            return incident
        _change_status(incident, Status.ACKNOWLEDGED, actor=actor, source=source, message="")
    return incident


def incident_resolve(
    *,
    incident: Incident,
    actor: Actor,
    resolution: str = "",
    source: Source = Source.WEB,
    expected_status: str | None = None,
) -> Incident:
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        _check_expected_status(incident, expected_status)
        if not transition_allowed(incident.status, Status.RESOLVED):
            raise IllegalTransition(incident, Status.RESOLVED)
        now = timezone.now()
        old = Status(incident.status)
        acknowledged = _move(incident, Status.RESOLVED, actor=actor, now=now)
        if resolution:
            incident.resolution = resolution
            incident.save(update_fields=["resolution"])
        text = f"{actor.display_name} resolved {incident.ref}"
        if resolution:
            text += f": {resolution}"
        entry = incident_record_event(
            incident=incident,
            kind=EventKind.RESOLVED,
            actor=actor,
            source=source,
            message=text,
            data={"from": old, "to": Status.RESOLVED},
            at=now,
        )
        _publish_status_change(
            incident, actor=actor, old=old, acknowledged=acknowledged, entry=entry
        )
        events.publish(
            events.IncidentResolved(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=entry.pk
            )
        )
    return incident


def incident_reopen(
    *, incident: Incident, actor: Actor, reason: str = "", source: Source = Source.WEB
) -> Incident:
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        if incident.status != Status.RESOLVED:
            raise IllegalTransition(
                incident, Status.INVESTIGATING, f"{incident.ref} is not resolved."
            )
        if incident.merged_into_id is not None:
            # Its timeline now lives on the survivor; reopening would split the record again.
            raise IllegalTransition(
                incident,
                Status.INVESTIGATING,
                f"{incident.ref} was merged into another incident; reopen that one instead.",
            )
        now = timezone.now()
        incident.status = Status.INVESTIGATING
        incident.reopen_count += 1
        incident.save(update_fields=["status", "reopen_count", "updated_at"])
        text = f"{actor.display_name} reopened {incident.ref}"
        if reason:
            text += f": {reason}"
        entry = incident_record_event(
            incident=incident,
            kind=EventKind.REOPENED,
            actor=actor,
            source=source,
            message=text,
            data={"from": Status.RESOLVED, "to": Status.INVESTIGATING},
            at=now,
        )
        events.publish(
            events.IncidentStatusChanged(
                incident_id=incident.pk,
                actor_id=actor.pk,
                old_status=Status.RESOLVED,
                new_status=Status.INVESTIGATING,
                timeline_event_id=entry.pk,
            )
        )
        events.publish(
            events.IncidentReopened(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=entry.pk
            )
        )
    return incident


def incident_set_severity(
    *,
    incident: Incident,
    actor: Actor,
    severity: Severity,
    source: Source = Source.WEB,
    raise_only: bool = False,
    expected_severity: Severity | None = None,
) -> Incident:
    """`raise_only`: change it only if `severity` is more severe than the incident's now (the
    alert processor, deciding from what it read a while ago, must not undo a responder).
    `expected_severity`: the severity the actor saw; a different one refuses the change
    (StaleIncident), so a change made on a stale view never overwrites another's."""
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        old = incident.severity
        if old.pk == severity.pk or (raise_only and severity.rank >= old.rank):
            # Setting a state it already has is not a change: nothing to record or announce.
            return incident
        if expected_severity is not None and old.pk != expected_severity.pk:
            raise StaleIncident(
                incident, field="severity", current=old.name, expected=expected_severity.name
            )
        incident.severity = severity
        incident.save(update_fields=["severity", "updated_at"])
        verb = "raised" if severity.rank < old.rank else "lowered"
        entry = incident_record_event(
            incident=incident,
            kind=EventKind.SEVERITY_CHANGED,
            actor=actor,
            source=source,
            message=f"{actor.display_name} {verb} severity from {old.name} to {severity.name}",
            data={"from": old.name, "to": severity.name},
        )
        events.publish(
            events.IncidentSeverityChanged(
                incident_id=incident.pk,
                actor_id=actor.pk,
                old_severity=old.name,
                new_severity=severity.name,
                timeline_event_id=entry.pk,
            )
        )
    return incident


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
        incident = _lock_for(actor, Action.RESPOND, incident)
        if expected_holder is not UNCHECKED and role in SINGLE_HOLDER_ROLES:
            _check_expected_holder(incident, role, expected_holder)
        return _assign_role(incident, actor=actor, role=role, user=user, source=source)


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


def _assign_role(
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


def incident_add_note(
    *, incident: Incident, actor: Actor, text: str, source: Source = Source.WEB
) -> TimelineEvent:
    text = text.strip()
    if not text:
        raise ValidationError({"text": "A note needs some text."})
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        note = incident_record_event(
            incident=incident, kind=EventKind.NOTE, actor=actor, source=source, message=text
        )
        events.publish(
            events.IncidentNoteAdded(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=note.pk
            )
        )
    return note


def incident_post_update(
    *,
    incident: Incident,
    actor: Actor,
    message: str,
    public: bool = False,
    source: Source = Source.WEB,
) -> StatusUpdate:
    message = message.strip()
    if not message:
        raise ValidationError({"message": "A status update needs a message."})
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, incident)
        if public and incident.private:
            # The public status page must never show that a private incident exists.
            raise ValidationError(
                {"public": "A private incident cannot have public status updates."}
            )
        update = StatusUpdate.objects.create(
            incident=incident,
            message=message,
            public=public,
            status=incident.status,
            author=actor_user(actor),
            posted_at=timezone.now(),
        )
        audience = "a public" if public else "an internal"
        entry = incident_record_event(
            incident=incident,
            kind=EventKind.STATUS_UPDATE,
            actor=actor,
            source=source,
            message=f"{actor.display_name} posted {audience} update: {message}",
            data={"public": public, "status_update": update.pk},
        )
        events.publish(
            events.IncidentUpdatePosted(
                incident_id=incident.pk,
                actor_id=actor.pk,
                status_update_id=update.pk,
                public=public,
                timeline_event_id=entry.pk,
            )
        )
    return update


# Fields a responder may edit directly; status, severity and roles have their own services.
EDITABLE_FIELDS = (
    "title",
    "summary",
    "team",
    "private",
    "drill",
    "cause_category",
    "started_at",
    "labels",
)


def incident_update_details(
    *,
    incident: Incident,
    actor: Actor,
    source: Source = Source.WEB,
    services: Iterable[Service] | None = None,
    **changes: Any,
) -> Incident:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be edited." for name in unknown})
    if "title" in changes:
        changes["title"] = str(changes["title"]).strip()
        if not changes["title"]:
            raise ValidationError({"title": "A title is required."})
    texts = ("title", "summary", "cause_category", "labels")
    _check_input(
        {name: changes[name] for name in texts if name in changes},
        {"started_at": changes["started_at"]} if "started_at" in changes else {},
        now=timezone.now(),
    )
    with transaction.atomic():
        incident = _lock_for(actor, Action.EDIT, incident)
        changed = [name for name, value in changes.items() if getattr(incident, name) != value]
        if (
            "private" in changed
            and isinstance(actor, User)
            and not can_change_visibility(actor, incident)
        ):
            raise PermissionDenied(
                "Only the incident's commander, a manager or an admin may make it "
                f"{'public' if incident.private else 'private'}."
            )
        # Marking a drill takes the incident out of the figures managers read (or puts it
        # back): the same people's call as its visibility, so a responder cannot quietly drop
        # a bad incident from the month's MTTR.
        if (
            "drill" in changed
            and isinstance(actor, User)
            and not can_change_visibility(actor, incident)
        ):
            raise PermissionDenied(
                "Only the incident's commander, a manager or an admin may mark it as "
                f"{'not a drill' if incident.drill else 'a drill'}."
            )
        for name in changed:
            setattr(incident, name, changes[name])
        if changed:
            incident.save(update_fields=[*changed, "updated_at"])
        if services is not None:
            new_services = sorted(s.name for s in services)
            if new_services != sorted(incident.services.values_list("name", flat=True)):
                incident.services.set(list(services))
                changed.append("services")
        if changed:
            entry = incident_record_event(
                incident=incident,
                kind=EventKind.EDITED,
                actor=actor,
                source=source,
                message=f"{actor.display_name} {_edit_description(incident, changed)}",
                data={"fields": changed},
            )
            events.publish(
                events.IncidentDetailsChanged(
                    incident_id=incident.pk,
                    actor_id=actor.pk,
                    fields=tuple(changed),
                    timeline_event_id=entry.pk,
                )
            )
    return incident


def _edit_description(incident: Incident, changed: list[str]) -> str:
    """What an edit did, e.g. "edited title, summary and made the incident private"."""
    others = [name for name in changed if name not in ("private", "drill")]
    parts = [f"edited {', '.join(others)}"] if others else []
    if "private" in changed:
        parts.append(f"made the incident {'private' if incident.private else 'public'}")
    if "drill" in changed:
        parts.append(f"marked the incident as {'a drill' if incident.drill else 'not a drill'}")
    return " and ".join(parts)


def checklist_item_set_done(
    *, item: ChecklistItem, actor: Actor, done: bool, source: Source = Source.WEB
) -> ChecklistItem:
    with transaction.atomic():
        incident = _lock_for(actor, Action.RESPOND, item.incident)
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


def incident_merge(
    *, incident: Incident, into: Incident, actor: Actor, source: Source = Source.WEB
) -> Incident:
    """Fold `incident` into `into`: its timeline moves to the survivor and it is resolved."""
    if incident.pk == into.pk:
        raise ValidationError({"into": "An incident cannot be merged into itself."})
    with transaction.atomic():
        # Lock both rows in a fixed order so two crossing merges cannot deadlock.
        first, second = sorted((incident, into), key=lambda i: i.pk)
        locked = {i.pk: incident_lock(i) for i in (first, second)}
        incident, into = locked[incident.pk], locked[into.pk]
        require(actor, Action.MERGE, incident)
        require(actor, Action.MERGE, into)
        if not incident.is_open or not into.is_open:
            raise IllegalTransition(incident, Status.RESOLVED, "Only open incidents can merge.")
        if incident.private and not into.private:
            # The timeline moves to the survivor, so a public one would publish it to everyone.
            raise ValidationError(
                {"into": "A private incident can only be merged into another private incident."}
            )
        now = timezone.now()
        # The duplicate's role entries say who held its roles, not the survivor's: marked, the
        # responder load reads them as a history of their own (reports.load), ending at the merge.
        # An entry moved by an earlier merge keeps the incident it came from.
        moved_roles = list(
            TimelineEvent.objects.filter(incident=incident, kind=EventKind.ROLE_ASSIGNED).exclude(
                data__has_key="merged_from"
            )
        )
        for role_entry in moved_roles:
            role_entry.data = {**role_entry.data, "merged_from": incident.number}
        TimelineEvent.objects.bulk_update(moved_roles, ["data"])
        TimelineEvent.objects.filter(incident=incident).update(incident=into)
        into.participants.add(*incident.participants.all())
        old = Status(incident.status)
        incident.merged_into = into
        incident.save(update_fields=["merged_into", "updated_at"])
        acknowledged = _move(incident, Status.RESOLVED, actor=actor, now=now)
        entry = incident_record_event(
            incident=incident,
            kind=EventKind.MERGED,
            actor=actor,
            source=source,
            message=f"{actor.display_name} merged {incident.ref} into {into.ref}",
            data={"into": into.number},
            at=now,
        )
        incident_record_event(
            incident=into,
            kind=EventKind.MERGED,
            actor=actor,
            source=source,
            message=f"{actor.display_name} merged {incident.ref} into this incident",
            data={"from": incident.number},
            at=now,
        )
        # The merge's own entry stands for the resolution it implies: there is no other.
        _publish_status_change(
            incident, actor=actor, old=old, acknowledged=acknowledged, entry=entry
        )
        events.publish(
            events.IncidentResolved(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=entry.pk
            )
        )
        events.publish(
            events.IncidentMerged(
                incident_id=incident.pk,
                actor_id=actor.pk,
                survivor_id=into.pk,
                timeline_event_id=entry.pk,
            )
        )
    return into


def incident_move_history(*, incident: Incident, moved_to: Callable[[str], Expression | F]) -> None:
    """Move the times an incident's steps stamped to the times `moved_to(field)` gives (an SQL
    expression of the stamped value), for history entered after the fact: the demo runs each
    step through these services now and moves it to when it happened. It records no timeline
    entry and publishes nothing: the moved stamps are the record.
    """
    with transaction.atomic():
        incident_lock(incident)
        TimelineEvent.objects.filter(incident=incident).update(occurred_at=moved_to("occurred_at"))
        RoleAssignment.objects.filter(incident=incident).update(assigned_at=moved_to("assigned_at"))
        StatusUpdate.objects.filter(incident=incident).update(posted_at=moved_to("posted_at"))
        ChecklistItem.objects.filter(incident=incident).update(done_at=moved_to("done_at"))
        stamps = (
            "declared_at",
            "acknowledged_at",
            "identified_at",
            "mitigated_at",
            "resolved_at",
            "last_resolved_at",
            "updated_at",
        )
        Incident.objects.filter(pk=incident.pk).update(
            **{field: moved_to(field) for field in stamps}
        )
