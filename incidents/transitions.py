"""Which status moves an incident may make, and the conflicts a change is refused with."""

from incidents.models import STATUS_ORDER, Incident, Status
from ops.problems import Conflict


class IncidentConflict(Conflict):
    """The change conflicts with the incident's current state (answered as 409 Conflict)."""


class IllegalTransition(IncidentConflict):
    """The incident's lifecycle does not allow this move from its current status."""

    def __init__(self, incident: Incident, target: str, reason: str = "") -> None:
        self.current = incident.status
        self.target = target
        super().__init__(
            reason or f"{incident.ref} cannot move from {incident.status} to {target}."
        )


class StaleIncident(IncidentConflict):
    """The person acted on a view of the incident older than its state: the value they saw
    (`expected`) is no longer the incident's (`current`), so nothing was changed."""

    def __init__(self, incident: Incident, *, field: str, current: str, expected: str) -> None:
        self.field = field
        self.current = current
        self.expected = expected
        super().__init__(
            f"{incident.ref}'s {field} is now {current}, not {expected} as you saw it. "
            "Nothing was changed: review it and try again."
        )


# The moves incident_set_status may make: the one transition table, which the web's status
# buttons and the API follow. Forward moves may skip steps. Incidents relapse (a fix that did
# not hold, a cause that was not the cause), so among investigating, identified and monitoring
# an incident also moves back, as incident.io's live statuses and Statuspage's incident
# statuses let responders do. Nothing goes back to detected or acknowledged: they say whether
# anyone has answered the page, which a relapse does not undo. A resolved incident leaves only
# through incident_reopen (to investigating), which is not a status change but its own entry.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DETECTED: frozenset(
        {
            Status.ACKNOWLEDGED,
            Status.INVESTIGATING,
            Status.IDENTIFIED,
            Status.MONITORING,
            Status.RESOLVED,
        }
    ),
    Status.ACKNOWLEDGED: frozenset(
        {Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}
    ),
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset(),
}


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition_is_backward(current: str, target: str) -> bool:
    """True for a move back to an earlier status: an incident that relapsed."""
    return STATUS_ORDER.index(target) < STATUS_ORDER.index(current)
