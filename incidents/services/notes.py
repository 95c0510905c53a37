"""What responders write on an incident: notes, and internal or public status updates."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor, actor_user
from incidents import events
from incidents.models import EventKind, Incident, Source, StatusUpdate, TimelineEvent
from incidents.permissions import Action
from incidents.services.base import lock_for
from incidents.timeline import incident_record_event


def incident_add_note(
    *, incident: Incident, actor: Actor, text: str, source: Source = Source.WEB
) -> TimelineEvent:
    text = text.strip()
    if not text:
        raise ValidationError({"text": "A note needs some text."})
    with transaction.atomic():
        incident = lock_for(actor, Action.RESPOND, incident)
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
        incident = lock_for(actor, Action.RESPOND, incident)
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
