"""The reminder's buttons and its "Post update" modal, and the events that move its timer.

"Post update" opens a modal filled in with the last update (views.open in the request: the
trigger id lasts 3 s). Its submission is checked in the request, so mistakes show on the form,
and posted by a task. "Snooze 30 min" runs in a task. Both answer a refusal (account not linked,
no permission) with an ephemeral message through the click's response_url.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops import blocks, interactions
from chatops.actors import DM_KIND, dm_add, dm_payload, linked_user, not_linked_text, refusal_text
from chatops.client import slack_client
from chatops.models import InboundKind
from chatops.once import Answer, act_once
from chatops.services import outbox, reminders
from chatops.services.inbound import inbound_store
from chatops.services.responses import respond
from incidents import events
from incidents.models import Incident, Source, StatusUpdate
from incidents.permissions import Action, can
from incidents.services import incident_post_update

logger = logging.getLogger(__name__)

POST_UPDATE_CALLBACK = "post_update"
# Not a button: the submission, once checked in the request, is stored under this id so the
# interaction processor hands it to `post_update_submitted` in a task.
POST_UPDATE_SUBMITTED = "post_update_submitted"
MESSAGE_MAX_LENGTH = 3000  # Slack's limit for a plain_text_input


def _incident(number: str) -> Incident | None:
    if not number.isdigit():
        return None
    return Incident.objects.filter(number=int(number)).first()


def _refusal(interaction: interactions.Interaction, action: dict[str, Any]) -> str | None:
    """Why the clicking Slack user may not act on the reminder's incident; None if they may."""
    incident = _incident(str(action.get("value", "")))
    if incident is None:
        return "That incident no longer exists."
    user = linked_user(interaction.slack_user_id)
    if user is None:
        return not_linked_text()
    if not can(user, Action.RESPOND, incident):
        return f"Your Tocsin role may not post updates on {incident.ref}."
    return None


def _tell(interaction: interactions.Interaction, text: str, *, incident: Incident | None) -> None:
    """An ephemeral answer to the click, seen only by whoever clicked."""
    if not interaction.response_url:
        return
    respond(
        interaction.response_url,
        blocks.ephemeral(text),
        key=f"reminder:{interaction.trigger_id}",
        incident_id=incident.pk if incident is not None else None,
    )


def post_update_modal(incident: Incident) -> dict[str, Any]:
    last = StatusUpdate.objects.filter(incident=incident).order_by("-posted_at", "-id").first()
    message: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "message",
        "multiline": True,
        "max_length": MESSAGE_MAX_LENGTH,
    }
    if last is not None:
        message["initial_value"] = last.message[:MESSAGE_MAX_LENGTH]
    elements: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": blocks.mrkdwn(f"*{incident.ref}* {blocks.escape(incident.title)}"),
        },
        {
            "type": "input",
            "block_id": "message",
            "label": {"type": "plain_text", "text": "Status update"},
            "element": message,
        },
    ]
    if not incident.private:
        elements.append(
            {
                "type": "input",
                "block_id": "public",
                "optional": True,
                "label": {"type": "plain_text", "text": "Audience"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "public",
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Public (status page)"},
                            "value": "public",
                        }
                    ],
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": POST_UPDATE_CALLBACK,
        "private_metadata": str(incident.number),
        "title": {"type": "plain_text", "text": "Post a status update"},
        "submit": {"type": "plain_text", "text": "Post"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": elements,
    }


def open_post_update(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    """Inline: the modal must open with the click's trigger id, within Slack's 3 seconds."""
    incident = _incident(str(action.get("value", "")))
    refusal = _refusal(interaction, action)
    if refusal is not None or incident is None:
        _tell(interaction, refusal or "That incident no longer exists.", incident=incident)
        return None
    try:
        slack_client(timeout=settings.SLACK_MODAL_TIMEOUT).views_open(
            trigger_id=interaction.trigger_id, view=post_update_modal(incident)
        )
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.warning("could not open the post-update modal for %s: %r", incident.ref, error)
        _tell(
            interaction,
            "Slack did not open the form in time. Post the update on "
            f"{blocks.link(blocks.incident_url(incident), incident.ref)}.",
            incident=incident,
        )
    return None


def _submitted(view: dict[str, Any]) -> tuple[str, bool]:
    values = (view.get("state") or {}).get("values") or {}
    message = str(((values.get("message") or {}).get("message") or {}).get("value") or "")
    chosen = ((values.get("public") or {}).get("public") or {}).get("selected_options") or []
    return message.strip(), any(option.get("value") == "public" for option in chosen)


def check_post_update(
    interaction: interactions.Interaction, view: dict[str, Any]
) -> dict[str, Any] | None:
    """Inline: mistakes are answered on the form; a good submission is posted by a task."""
    incident = _incident(str(view.get("private_metadata", "")))
    message, public = _submitted(view)
    errors: dict[str, str] = {}
    user = linked_user(interaction.slack_user_id)
    if incident is None:
        errors["message"] = "That incident no longer exists."
    elif user is None:
        errors["message"] = not_linked_text()
    elif not can(user, Action.RESPOND, incident):
        errors["message"] = f"Your Tocsin role may not post updates on {incident.ref}."
    elif not message:
        errors["message"] = "Write the update."
    elif len(message) > MESSAGE_MAX_LENGTH:
        errors["message"] = f"At most {MESSAGE_MAX_LENGTH} characters."
    elif public and incident.private:
        errors["public"] = "A private incident cannot have public status updates."
    if errors:
        return {"response_action": "errors", "errors": errors}
    inbound_store(
        key=f"view:{view.get('id', '')}:{view.get('hash', '')}",
        kind=InboundKind.INTERACTION,
        payload={
            "interaction": interaction.payload,
            "action": {"action_id": POST_UPDATE_SUBMITTED},
        },
    )
    return None


def post_update_submitted(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    view = interaction.view
    if interaction.type != "view_submission" or view.get("callback_id") != POST_UPDATE_CALLBACK:
        return None
    incident = _incident(str(view.get("private_metadata", "")))
    slack_user_id = interaction.slack_user_id
    user = linked_user(slack_user_id)
    message, public = _submitted(view)
    # A view submission has no response_url: the answer is a direct message.
    reply_key = f"update-posted:{view.get('id', '')}"
    if incident is None:
        dm_add(slack_user_id, "Your update was not posted: the incident is gone.", key=reply_key)
        return None
    if user is None:
        dm_add(slack_user_id, not_linked_text(), key=reply_key, incident_id=incident.pk)
        return None
    ref = blocks.link(blocks.incident_url(incident), incident.ref)

    def post() -> Answer:
        incident_post_update(
            incident=incident, actor=user, message=message, public=public, source=Source.SLACK
        )
        audience = "public" if public else "internal"
        return Answer(dm_payload(slack_user_id, f"Posted your {audience} update on {ref}."))

    try:
        act_once(kind=DM_KIND, key=reply_key, act=post)
    except (PermissionDenied, ValidationError) as refused:
        # Checked in the request; this is a change of role or visibility in between.
        dm_add(
            slack_user_id,
            f"Your update on {ref} was not posted: {refusal_text(refused)}",
            key=reply_key,
            incident_id=incident.pk,
        )
    return None


def snooze(interaction: interactions.Interaction, action: dict[str, Any]) -> dict[str, Any] | None:
    incident = _incident(str(action.get("value", "")))
    refusal = _refusal(interaction, action)
    user = linked_user(interaction.slack_user_id)
    if refusal is not None or incident is None or user is None:
        _tell(interaction, refusal or not_linked_text(), incident=incident)
        return None
    if not incident.is_open:
        _tell(interaction, f"{incident.ref} is resolved: no more reminders.", incident=incident)
        return None
    until = reminders.reminder_snooze(incident=incident, actor=user)
    _tell(
        interaction,
        f"Snoozed: the next reminder for {incident.ref} comes at <!date^{int(until.timestamp())}"
        f"^{{time}}|{until:%H:%M} UTC> unless an update is posted first.",
        incident=incident,
    )
    return None


def _on_declared(event: events.IncidentDeclared) -> None:
    reminders.reminder_schedule(incident_id=event.incident_id)


def _on_update_posted(event: events.IncidentUpdatePosted) -> None:
    reminders.reminder_schedule(incident_id=event.incident_id, keep_snooze=False)


def _on_severity_changed(event: events.IncidentSeverityChanged) -> None:
    reminders.reminder_schedule(incident_id=event.incident_id)


def _on_resolved(event: events.IncidentResolved) -> None:
    reminders.reminder_stop(incident_id=event.incident_id)


def _on_reopened(event: events.IncidentReopened) -> None:
    reminders.reminder_schedule(incident_id=event.incident_id)


def connect() -> None:
    outbox.register_sender(reminders.KIND, reminders.send_reminder)
    interactions.register_action(interactions.REMINDER_POST_UPDATE, open_post_update, inline=True)
    interactions.register_action(interactions.REMINDER_SNOOZE, snooze)
    interactions.register_action(POST_UPDATE_SUBMITTED, post_update_submitted)
    interactions.register_view(POST_UPDATE_CALLBACK, check_post_update, inline=True)
    events.subscribe(events.IncidentDeclared, _on_declared)
    events.subscribe(events.IncidentUpdatePosted, _on_update_posted)
    events.subscribe(events.IncidentSeverityChanged, _on_severity_changed)
    events.subscribe(events.IncidentResolved, _on_resolved)
    events.subscribe(events.IncidentReopened, _on_reopened)
