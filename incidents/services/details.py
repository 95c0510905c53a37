"""Changes to what an incident says about itself: its severity, and the fields a responder
edits directly."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import User
from incidents import events
from incidents.models import EventKind, Incident, Service, Severity, Source
from incidents.permissions import Action, can_change_visibility
from incidents.services.base import check_input, impact_after_detection, lock_for
from incidents.timeline import incident_record_event
from incidents.transitions import StaleIncident


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
        incident = lock_for(actor, Action.RESPOND, incident)
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
    check_input(
        {name: changes[name] for name in texts if name in changes},
        {"started_at": changes["started_at"]} if "started_at" in changes else {},
        now=timezone.now(),
    )
    with transaction.atomic():
        incident = lock_for(actor, Action.EDIT, incident)
        changed = [name for name, value in changes.items() if getattr(incident, name) != value]
        if "started_at" in changed and changes["started_at"] > incident.detected_at:
            # Time to detect is detection minus the start: it must not come out negative.
            raise ValidationError({"started_at": impact_after_detection(incident.detected_at)})
        # Marking a drill takes the incident out of the figures managers read (or puts it
        # back): the same people's call as its visibility, so a responder cannot quietly drop
        # a bad incident from the month's MTTR.
        guarded = [name for name in ("private", "drill") if name in changed]
        if guarded and isinstance(actor, User) and not can_change_visibility(actor, incident):
            raise PermissionDenied(
                "Only the incident's commander, a manager or an admin may "
                f"{_guarded_change(incident, guarded[0])}."
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


def _guarded_change(incident: Incident, name: str) -> str:
    """What changing `name` (private or drill) would do to the incident as it stands."""
    if name == "private":
        return f"make it {'public' if incident.private else 'private'}"
    return f"mark it as {'not a drill' if incident.drill else 'a drill'}"


def _edit_description(incident: Incident, changed: list[str]) -> str:
    """What an edit did, e.g. "edited title, summary and made the incident private"."""
    others = [name for name in changed if name not in ("private", "drill")]
    parts = [f"edited {', '.join(others)}"] if others else []
    if "private" in changed:
        parts.append(f"made the incident {'private' if incident.private else 'public'}")
    if "drill" in changed:
        parts.append(f"marked the incident as {'a drill' if incident.drill else 'not a drill'}")
    return " and ".join(parts)
