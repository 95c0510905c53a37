"""The page DM's Acknowledge button (oncall sends the DM; its value is the Notification id).

Runs in a task from the stored click. The clicking Slack user acts as the Tocsin user their
account is linked to, with that user's role, as in the web UI; the answer goes through the
click's response_url: the DM's buttons give way to "Acknowledged by …", or an ephemeral
message says what to do.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from chatops.interactions import PAGE_ACK, Interaction, register_action
from chatops.services.people import user_for_slack_id
from chatops.services.responses import respond
from incidents.models import Incident, Source, Status
from incidents.permissions import Action, can
from incidents.services import IncidentConflict, incident_acknowledge
from oncall.models import Notification


def page_ack(interaction: Interaction, action: dict[str, Any]) -> None:
    key = f"page-ack:{action.get('action_ts', '')}:{interaction.slack_user_id}"
    url = interaction.response_url
    value = str(action.get("value", ""))
    notification = (
        Notification.objects.filter(pk=int(value)).select_related("incident").first()
        if value.isdigit()
        else None
    )
    incident = notification.incident if notification is not None else None
    if incident is None:
        respond(url, _ephemeral("This page is no longer known to Tocsin."), key=key)
        return
    user = user_for_slack_id(interaction.slack_user_id)
    if user is None:
        link = settings.BASE_URL + reverse("chatops:slack-profile")
        text = (
            f"Your Slack account is not linked to a Tocsin user, so Tocsin cannot tell who you "
            f"are. Link it on <{link}|your Slack settings in Tocsin>, then click again, or "
            f"acknowledge {incident.ref} on the web."
        )
        respond(url, _ephemeral(text), key=key, incident_id=incident.pk)
        return
    if not can(user, Action.RESPOND, incident):
        text = (
            f"Your Tocsin role may not respond to {incident.ref}; ask an admin for the "
            f"responder role."
        )
        respond(url, _ephemeral(text), key=key, incident_id=incident.pk)
        return
    already = incident.status != Status.DETECTED
    try:
        incident = incident_acknowledge(incident=incident, actor=user, source=Source.SLACK)
    except PermissionDenied:
        text = f"You may not acknowledge {incident.ref}."
        respond(url, _ephemeral(text), key=key, incident_id=incident.pk)
        return
    except IncidentConflict:
        incident.refresh_from_db()
        text = f"{incident.ref} is {incident.get_status_display().lower()}: nothing to acknowledge."
        respond(url, _ephemeral(text), key=key, incident_id=incident.pk)
        return
    respond(
        url,
        _acknowledged(interaction, incident, user.display_name, already=already),
        key=key,
        incident_id=incident.pk,
    )


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _acknowledged(
    interaction: Interaction, incident: Incident, name: str, *, already: bool
) -> dict[str, Any]:
    """The DM as it was, its buttons replaced by who acknowledged."""
    message = interaction.payload.get("message") or {}
    kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    status = incident.get_status_display().lower()
    note = f"Already {status}" if already else f"Acknowledged by {name}"
    return {
        "replace_original": True,
        "text": f"{incident.ref}: {note}",
        "blocks": [
            *kept,
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f":white_check_mark: {note}"}],
            },
        ],
    }


def connect() -> None:
    register_action(PAGE_ACK, page_ack)
