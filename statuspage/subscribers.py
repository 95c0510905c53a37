"""What the status page does when an incident changes: keep its public copy and the
components' states in step. Each handler records statuspage's own rows only, and is
idempotent: the tick runs the same sync as a catch-up for a handler that failed."""

from typing import Any

from django.db.models.signals import post_save

from incidents import events
from incidents.models import Service
from statuspage.services.components import components_sync
from statuspage.services.publishing import public_incident_sync, public_update_record

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


def on_service_saved(sender: type[Service], instance: Service, **kwargs: Any) -> None:
    # A service marked public becomes a component at once (in the saving transaction).
    if instance.public:
        components_sync()


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
    post_save.connect(on_service_saved, sender=Service, dispatch_uid="statuspage.service_saved")
