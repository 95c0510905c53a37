"""The page DM's Acknowledge button (oncall sends the DM; its value is the Notification id).

Runs in a task from the stored click. The clicking Slack user acts as the Tocsin user their
account is linked to, with that user's role, as in the web UI; the answer goes through the
click's response_url: the DM's buttons give way to "Acknowledged by …", or an ephemeral
message says what to do.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from chatops import blocks
from chatops.actors import not_linked_text
from chatops.interactions import PAGE_ACK, Interaction, register_action
from chatops.services.people import user_for_slack_id
from chatops.services.responses import respond
from incidents.models import Incident, Source, Status
from incidents.permissions import Action, can
from incidents.selectors import incident_get_for_user
from incidents.services import incident_acknowledge
from incidents.transitions import IncidentConflict
from oncall.models import Notification

# The largest id PostgreSQL's bigint holds: a bigger value from the button would make the
# query itself fail (and the click be retried), not just find nothing.
ID_MAX = 2**63 - 1
UNKNOWN = "This page is no longer known to Tocsin."


def page_ack(interaction: Interaction, action: dict[str, Any]) -> None:
    key = f"page-ack:{action.get('action_ts', '')}:{interaction.slack_user_id}"
    url = interaction.response_url
    paged = _paged_incident(str(action.get("value", "")))
    if paged is None:
        respond(url, blocks.ephemeral(UNKNOWN), key=key)
        return
    incident_id, number = paged
    user = user_for_slack_id(interaction.slack_user_id)
    if user is None:
        respond(url, blocks.ephemeral(not_linked_text()), key=key, incident_id=incident_id)
        return
    try:
        # What the clicker may see, as on the web: a private incident they take no part in
        # is as unknown to them as a page that is gone.
        incident = incident_get_for_user(user=user, number=number)
    except Incident.DoesNotExist:
        respond(url, blocks.ephemeral(UNKNOWN), key=key, incident_id=incident_id)
        return
    if not can(user, Action.RESPOND, incident):
        text = (
            f"Your Tocsin role may not respond to {incident.ref}; ask an admin for the "
            f"responder role."
        )
        respond(url, blocks.ephemeral(text), key=key, incident_id=incident.pk)
        return
    already = incident.status != Status.DETECTED
    try:
        incident = incident_acknowledge(incident=incident, actor=user, source=Source.SLACK)
    except PermissionDenied:
        text = f"You may not acknowledge {incident.ref}."
        respond(url, blocks.ephemeral(text), key=key, incident_id=incident.pk)
        return
    except IncidentConflict:
        incident.refresh_from_db()
        text = f"{incident.ref} is {incident.get_status_display().lower()}: nothing to acknowledge."
        respond(url, blocks.ephemeral(text), key=key, incident_id=incident.pk)
        return
    respond(
        url,
        _acknowledged(interaction, incident, user.display_name, already=already),
        key=key,
        incident_id=incident.pk,
    )


def _paged_incident(value: str) -> tuple[int, int] | None:
    """The id and number of the incident the page (a Notification id) was about, or None."""
    # isascii: "²" is a digit to isdigit() but not to int(); the length keeps int() from
    # refusing a thousands-of-digits value.
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(ID_MAX))):
        return None
    notification_id = int(value)
    if not 0 < notification_id <= ID_MAX:
        return None
    row = (
        Notification.objects.filter(pk=notification_id, incident__isnull=False)
        .values_list("incident_id", "incident__number")
        .first()
    )
    return (row[0], row[1]) if row is not None else None


def _acknowledged(
    interaction: Interaction, incident: Incident, name: str, *, already: bool
) -> dict[str, Any]:
    """The DM as it was, its buttons replaced by who acknowledged."""
    message = interaction.payload.get("message") or {}
    kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    status = incident.get_status_display().lower()
    note = f"Already {status}" if already else f"Acknowledged by {blocks.escape(name)}"
    return {
        "replace_original": True,
        "text": f"{incident.ref}: {note}",
        "blocks": [
            *kept,
            {
                "type": "context",
                "elements": [blocks.mrkdwn(f":white_check_mark: {note}")],
            },
        ],
    }


def connect() -> None:
    register_action(PAGE_ACK, page_ack)
