"""Status moves: acknowledge, set status, resolve, reopen, and the steps a merge shares with them
(the stamps of first arrivals, the status events)."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import User
from incidents import events
from incidents.models import EventKind, Incident, Source, Status, TimelineEvent
from incidents.permissions import Action
from incidents.services.base import lock_for
from incidents.timeline import incident_record_event
from incidents.transitions import (
    IllegalTransition,
    StaleIncident,
    transition_allowed,
    transition_is_backward,
)

# The timestamp stamped the first time an incident arrives at a status.
STATUS_TIMESTAMPS: dict[str, str] = {
    Status.ACKNOWLEDGED: "acknowledged_at",
    Status.IDENTIFIED: "identified_at",
    Status.MONITORING: "mitigated_at",
    Status.RESOLVED: "resolved_at",
}

# The timeline entry a move to a status records, where it is not a plain status change.
STATUS_EVENT_KINDS: dict[str, EventKind] = {
    Status.ACKNOWLEDGED: EventKind.ACKNOWLEDGED,
    Status.RESOLVED: EventKind.RESOLVED,
}


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
    (StaleIncident), so a change made on a stale view is never applied. A move to resolved is a
    resolve, with `message` as its resolution."""
    with transaction.atomic():
        incident = lock_for(actor, Action.RESPOND, incident)
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
    """Move an open incident as the transition table allows; a move to resolved keeps
    `message` as the resolution. Caller holds the row lock inside a transaction."""
    if not transition_allowed(incident.status, status):
        raise IllegalTransition(incident, status)
    now = timezone.now()
    old = Status(incident.status)
    acknowledged = move_status(incident, status, actor=actor, now=now)
    if status == Status.RESOLVED and message:
        incident.resolution = message
        incident.save(update_fields=["resolution"])
    if status == Status.ACKNOWLEDGED:
        text = f"{actor.display_name} acknowledged {incident.ref}"
    elif status == Status.RESOLVED:
        text = f"{actor.display_name} resolved {incident.ref}"
    elif transition_is_backward(old, status):
        text = f"{actor.display_name} moved {incident.ref} back from {old} to {status}"
    else:
        text = f"{actor.display_name} changed status from {old} to {status}"
    if message:
        text += f": {message}"
    entry = incident_record_event(
        incident=incident,
        kind=STATUS_EVENT_KINDS.get(status, EventKind.STATUS_CHANGED),
        actor=actor,
        source=source,
        message=text,
        data={"from": old, "to": status},
        at=now,
    )
    publish_status_change(incident, actor=actor, old=old, acknowledged=acknowledged, entry=entry)


def move_status(incident: Incident, status: Status, *, actor: Actor, now: datetime) -> bool:
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


def publish_status_change(
    incident: Incident, *, actor: Actor, old: Status, acknowledged: bool, entry: TimelineEvent
) -> None:
    """The events of a move from `old` to the incident's status, which `entry` records."""
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
    if incident.status == Status.RESOLVED:
        events.publish(
            events.IncidentResolved(
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
        incident = lock_for(actor, Action.RESPOND, incident)
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
    return incident_set_status(
        incident=incident,
        actor=actor,
        status=Status.RESOLVED,
        source=source,
        message=resolution,
        expected_status=expected_status,
    )


def incident_reopen(
    *, incident: Incident, actor: Actor, reason: str = "", source: Source = Source.WEB
) -> Incident:
    with transaction.atomic():
        incident = lock_for(actor, Action.RESPOND, incident)
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
        publish_status_change(
            incident, actor=actor, old=Status.RESOLVED, acknowledged=False, entry=entry
        )
        events.publish(
            events.IncidentReopened(
                incident_id=incident.pk, actor_id=actor.pk, timeline_event_id=entry.pk
            )
        )
    return incident
