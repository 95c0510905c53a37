"""How postmortems hear of incidents: a resolve drafts the postmortem (where the severity
requires one) in a task; the tick's catch-up drafts any the task missed."""

from incidents import events
from postmortems import tasks


def on_resolved(event: events.IncidentResolved) -> None:
    # Rendering a long timeline is work for a worker, not for whoever resolved.
    tasks.draft_postmortem.delay(event.incident_id)


def connect() -> None:
    events.subscribe(events.IncidentResolved, on_resolved)
