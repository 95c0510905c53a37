"""Timeline entries: recorded by incidents.services with each change, and by the other apps for
what happens around an incident (an alert, a page, a Slack pin)."""

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from incidents.locks import incident_lock
from incidents.models import EventKind, Incident, Source, TimelineEvent
from incidents.permissions import Action, require


def incident_record_event(
    *,
    incident: Incident,
    kind: EventKind,
    source: Source,
    message: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    highlighted: bool = False,
) -> TimelineEvent:
    """Record something that happened around an incident (an alert, a page, a Slack pin).

    For the other apps' events that change nothing on the incident itself; changes go through
    incidents.services, which records their entries here in the same transaction. Nothing here
    is permission-checked; most entries are Tocsin's own (a page sent, an alert fired), and say
    so with `actor=SYSTEM`. `highlighted` entries (a Slack pin) lead the postmortem's timeline.
    """
    return TimelineEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor_user(actor),
        source=source,
        message=message,
        data=data or {},
        occurred_at=at or timezone.now(),
        highlighted=highlighted,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TimelineEntry:
    """One entry of `incident_record_events`: what `incident_record_event` takes, as data."""

    incident: Incident
    kind: EventKind
    actor: Actor
    source: Source
    message: str
    at: datetime
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


def incident_record_events(*, entries: Iterable[TimelineEntry]) -> None:
    """Record many entries with one INSERT: the alert processor records an entry per alert
    event, and a burst brings thousands a second."""
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=entry.incident,
            kind=entry.kind,
            actor=actor_user(entry.actor),
            source=entry.source,
            message=entry.message,
            data=entry.data,
            occurred_at=entry.at,
        )
        for entry in entries
    )


def timeline_event_set_highlight(
    *, event: TimelineEvent, actor: Actor, highlighted: bool
) -> TimelineEvent:
    with transaction.atomic():
        incident = incident_lock(event.incident)
        require(actor, Action.RESPOND, incident)
        changed = TimelineEvent.objects.filter(pk=event.pk).exclude(highlighted=highlighted)
        if changed.update(highlighted=highlighted):
            # The one change to an incident's page that adds no timeline entry: moving
            # updated_at is what tells open pages (selectors.incident_version) to refresh.
            incident.save(update_fields=["updated_at"])
        event.highlighted = highlighted
    return event


def timeline_event_set_removed(*, event: TimelineEvent, removed: bool) -> TimelineEvent:
    """Mark an entry whose source took it back (a Slack message unpinned), or restore it.

    Not permission-checked, like incident_record_event: the app that recorded the entry
    mirrors its source. The entry is kept, struck through."""
    with transaction.atomic():
        incident = incident_lock(event.incident_id)
        removed_at = timezone.now() if removed else None
        changed = TimelineEvent.objects.filter(pk=event.pk, removed_at__isnull=removed)
        if changed.update(removed_at=removed_at):
            # As for highlights: moving updated_at is what refreshes open pages.
            incident.save(update_fields=["updated_at"])
            event.removed_at = removed_at
    return event
