"""What the status page does when an incident changes: keep its public copy and the
components' states in step. Each handler records statuspage's own rows only, and is
idempotent: the tick runs the same sync as a catch-up for a handler that failed."""

from typing import Any

from django.db.models.signals import post_save, pre_save

from incidents import events
from incidents.models import Service
from statuspage.services.components import components_sync
from statuspage.services.publishing import (
    public_incident_sync,
    public_service_changed,
    public_update_record,
)

# The edits (IncidentDetailsChanged.fields) that change what the public sees.
PUBLIC_FIELDS = frozenset(("private", "services"))


def on_update_posted(event: events.IncidentUpdatePosted) -> None:
    # An internal update is never published; public_update_record also refuses a private
    # incident's, should one ever be marked public.
    if event.public:
        public_update_record(status_update_id=event.status_update_id)


def on_changed(event: events.IncidentEvent) -> None:
    public_incident_sync(incident_id=event.incident_id)


def on_details_changed(event: events.IncidentDetailsChanged) -> None:
    if PUBLIC_FIELDS.intersection(event.fields):
        public_incident_sync(incident_id=event.incident_id)


# What on_service_presave read of a service before its save: (public, name).
_BEFORE = "_statuspage_before"


def on_service_presave(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    # The saved row no longer says what it was: read it first, so a service made private or
    # renamed is told apart from one saved unchanged (a query per save; services change
    # rarely).
    before = None
    if instance.pk is not None and not instance._state.adding:
        before = Service.objects.filter(pk=instance.pk).values_list("public", "name").first()
    setattr(instance, _BEFORE, before)


def on_service_saved(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    before = getattr(instance, _BEFORE, None)
    if before is None:
        # New (or saved without the pre-save read): a public one becomes a component at once
        # (in the saving transaction).
        if instance.public:
            components_sync()
        return
    if before != (instance.public, instance.name):
        public_service_changed(service_id=instance.pk)


def connect() -> None:
    """Subscribe the handlers to incidents' domain events (AppConfig.ready)."""
    events.subscribe(events.IncidentUpdatePosted, on_update_posted)
    for event_type in (
        events.IncidentSeverityChanged,
        events.IncidentStatusChanged,
        events.IncidentResolved,
        events.IncidentReopened,
        events.IncidentMerged,
    ):
        events.subscribe(event_type, on_changed)
    events.subscribe(events.IncidentDetailsChanged, on_details_changed)
    pre_save.connect(on_service_presave, sender=Service, dispatch_uid="statuspage.service_presave")
    post_save.connect(on_service_saved, sender=Service, dispatch_uid="statuspage.service_saved")
