"""How postmortems hear of incidents: a resolve drafts the postmortem (where the severity
requires one) in a task; the tick's catch-up drafts any the task missed."""

from incidents import events
from incidents.models import Incident
from postmortems import tasks
from postmortems.services.postmortems import policy_requires_postmortem


def on_resolved(event: events.IncidentResolved) -> None:
    # DESIGN rule 2: queue nothing where there is nothing to do (a SEV3 asks for no
    # postmortem). The task checks again: the policy may change before it runs.
    incident = Incident.objects.filter(pk=event.incident_id).only("severity_id").first()
    if incident is None or not policy_requires_postmortem(incident):
        return
    # Rendering a long timeline is work for a worker, not for whoever resolved.
    tasks.draft_postmortem.delay(event.incident_id)


def connect() -> None:
    events.subscribe(events.IncidentResolved, on_resolved)
