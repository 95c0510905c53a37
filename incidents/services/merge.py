"""Merging a duplicate incident into the one that survives it."""

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from incidents import events
from incidents.locks import incident_lock
from incidents.models import EventKind, Incident, Source, Status, TimelineEvent
from incidents.permissions import Action, require
from incidents.services.status import move_status, publish_status_change
from incidents.timeline import incident_record_event
from incidents.transitions import IllegalTransition


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
        earlier = _earlier_times(incident, into)
        if earlier:
            for name, (_, value) in earlier.items():
                setattr(into, name, value)
            into.save(update_fields=[*earlier, "updated_at"])
        old = Status(incident.status)
        incident.merged_into = into
        incident.save(update_fields=["merged_into", "updated_at"])
        acknowledged = move_status(incident, Status.RESOLVED, actor=actor, now=now)
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
            message=f"{actor.display_name} merged {incident.ref} into this incident"
            + (f"; {_describe_earlier(earlier)} as {incident.ref} says" if earlier else ""),
            data={"from": incident.number, **_earlier_data(earlier)},
            at=now,
        )
        # The merge's own entry stands for the resolution it implies: there is no other.
        publish_status_change(
            incident, actor=actor, old=old, acknowledged=acknowledged, entry=entry
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


# The survivor stands for the whole outage in the figures managers read (reports): impact began,
# and somebody noticed it, when the earlier of the two incidents says.
_EARLIER_NAMES = {"started_at": "impact started", "detected_at": "it was detected"}


def _earlier_times(duplicate: Incident, survivor: Incident) -> dict[str, tuple[datetime, datetime]]:
    """The survivor's times the duplicate's earlier ones replace: name -> (old, new)."""
    earlier = {
        name: (getattr(survivor, name), getattr(duplicate, name))
        for name in _EARLIER_NAMES
        if getattr(duplicate, name) < getattr(survivor, name)
    }
    # An earlier acknowledgement too, but only of a survivor already acknowledged: stamping
    # one on an unacknowledged survivor would stop its paging on the duplicate's say-so.
    ack, survivor_ack = duplicate.acknowledged_at, survivor.acknowledged_at
    if ack is not None and survivor_ack is not None and ack < survivor_ack:
        earlier["acknowledged_at"] = (survivor_ack, ack)
    return earlier


def _earlier_data(earlier: dict[str, tuple[datetime, datetime]]) -> dict[str, Any]:
    """What the survivor's times were and became, for whoever audits the figures."""
    if not earlier:
        return {}
    return {
        "earlier": {
            name: [old.isoformat(), new.isoformat()] for name, (old, new) in earlier.items()
        }
    }


def _describe_earlier(earlier: dict[str, tuple[datetime, datetime]]) -> str:
    described = []
    for name, (_, new) in earlier.items():
        what = _EARLIER_NAMES.get(name, "it was acknowledged")
        described.append(f"{what} {new.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return ", ".join(described)
