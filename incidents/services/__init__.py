"""Every change to an incident goes through here.

Each service runs in one transaction, locks the incident row, checks permissions and the
transition table, writes a TimelineEvent in the same transaction and publishes a domain event
after commit. Each takes the `actor` making the change: a user, or `accounts.actors.SYSTEM` for
Tocsin itself (alert ingestion, timers, commands); SYSTEM passes every permission check and is
recorded as no one (actor NULL).

By area: declare, status (acknowledge, set status, resolve, reopen), details (severity and edited
fields), roles (roles, the commander's checklist, responders), notes (notes and status updates),
merge, history (moved after the fact); base holds the permission-checked lock and the input
check they share. Callers import from here: `from incidents import services`.
"""

from incidents.services.base import IMPACT_IN_FUTURE
from incidents.services.declare import incident_declare
from incidents.services.details import incident_set_severity, incident_update_details
from incidents.services.history import incident_move_history
from incidents.services.merge import incident_merge
from incidents.services.notes import incident_add_note, incident_post_update
from incidents.services.roles import (
    UNCHECKED,
    Unchecked,
    checklist_item_set_done,
    incident_add_responders,
    incident_assign_role,
)
from incidents.services.status import (
    incident_acknowledge,
    incident_reopen,
    incident_resolve,
    incident_set_status,
)

__all__ = [
    "IMPACT_IN_FUTURE",
    "UNCHECKED",
    "Unchecked",
    "checklist_item_set_done",
    "incident_acknowledge",
    "incident_add_note",
    "incident_add_responders",
    "incident_assign_role",
    "incident_declare",
    "incident_merge",
    "incident_move_history",
    "incident_post_update",
    "incident_reopen",
    "incident_resolve",
    "incident_set_severity",
    "incident_set_status",
    "incident_update_details",
]
