"""How on call reacts to incidents: start paging when declared, stop when acknowledged."""

from incidents import events
from oncall import selectors, tasks
from oncall.services import escalations


def start_paging(event: events.IncidentDeclared) -> None:
    # A task on the paging queue: whoever declared (a web request, the alert processor working
    # through a storm) is not held up. Only for a severity that pages: a storm of SEV3s
    # queued ahead of real pages held them up by seconds (measured).
    if selectors.severity_pages(incident_id=event.incident_id):
        tasks.start_escalation.delay(event.incident_id)


def start_paging_on_raise(event: events.IncidentSeverityChanged) -> None:
    # Raised to a severity that pages, however long after declaring: page now.
    if selectors.severity_pages(incident_id=event.incident_id):
        tasks.start_escalation.delay(event.incident_id, just_declared=False)


def stop_paging(event: events.IncidentEvent) -> None:
    reason = {
        events.IncidentAcknowledged: "acknowledged",
        events.IncidentResolved: "resolved",
        events.IncidentMerged: "merged into another incident",
    }.get(type(event), "stopped")
    # An acknowledged incident may still page people by hand; a resolved one pages nobody.
    escalations.escalation_stop(
        incident_id=event.incident_id,
        reason=reason,
        by_hand_too=not isinstance(event, events.IncidentAcknowledged),
    )


def connect() -> None:
    events.subscribe(events.IncidentDeclared, start_paging)
    events.subscribe(events.IncidentSeverityChanged, start_paging_on_raise)
    events.subscribe(events.IncidentAcknowledged, stop_paging)
    events.subscribe(events.IncidentResolved, stop_paging)
    events.subscribe(events.IncidentMerged, stop_paging)
