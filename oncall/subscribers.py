"""How on call reacts to incidents: start paging when declared, stop when acknowledged."""

from incidents import events
from incidents.models import Incident
from oncall import services


def start_paging(event: events.IncidentDeclared | events.IncidentSeverityChanged) -> None:
    incident = Incident.objects.filter(pk=event.incident_id).first()
    if incident is not None:
        services.escalation_start(incident=incident)


def stop_paging(event: events.IncidentEvent) -> None:
    reason = {
        events.IncidentAcknowledged: "acknowledged",
        events.IncidentResolved: "resolved",
        events.IncidentMerged: "merged into another incident",
    }.get(type(event), "stopped")
    services.escalation_stop(incident_id=event.incident_id, reason=reason)


def connect() -> None:
    events.subscribe(events.IncidentDeclared, start_paging)
    # Raised to a severity that pages: page now (escalation_start ignores other changes).
    events.subscribe(events.IncidentSeverityChanged, start_paging)
    events.subscribe(events.IncidentAcknowledged, stop_paging)
    events.subscribe(events.IncidentResolved, stop_paging)
    events.subscribe(events.IncidentMerged, stop_paging)
