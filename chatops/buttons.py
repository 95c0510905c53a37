"""The announcement's buttons: Acknowledge, Resolve, Change severity, Join channel.

Each click runs in a task from the stored request (chatops.views.interactions), with the same
checks as `/incident` (a linked account, a role that may act) and answers the clicker through
the click's response_url, never replacing the announcement itself: its edits come from the
channels' subscribers when the incident changes.

Resolve resolves at once: the button carries Slack's `confirm` dialog, so the question is
asked before the click reaches us. Change severity is a static_select whose chosen option's
value is the severity's name (a button without one is answered with how to change it).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from accounts.models import User
from chatops import blocks, interactions
from chatops.actors import linked_user, not_linked_text, refusal_text
from chatops.command_parsing import INCIDENT_REF, severity_named
from chatops.models import Announcement, IncidentChannel, SlackCall
from chatops.once import Answer, act_once
from chatops.services import outbox, responses
from incidents import services as incident_services
from incidents.models import Incident, Severity, Source, Status
from incidents.permissions import Action, can, can_view
from ops.problems import Conflict

INVITE_KIND = "join_channel"


def _number(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = INCIDENT_REF.fullmatch(text)
    return int(match.group(1)) if match else None


def _incident_number(interaction: interactions.Interaction, action: dict[str, Any]) -> int | None:
    """The incident the clicked announcement is about: the button's value is its number; a
    select has none, but its block's id names it (or its option, as `<n>:<SEVn>`); else the
    announcement message itself tells."""
    number = _number(str(action.get("value", "")))
    if number is None:
        # The announcement's actions block is `announcement:<n>` (chatops.services.announcements).
        block = str(action.get("block_id", ""))
        if block.startswith("announcement:"):
            number = _number(block.removeprefix("announcement:"))
    if number is None:
        option = str((action.get("selected_option") or {}).get("value", ""))
        if ":" in option:
            number = _number(option.split(":", 1)[0])
    if number is None:
        announcement = (
            Announcement.objects.filter(
                channel_id=interaction.channel_id, ts=interaction.message_ts
            )
            .exclude(ts="")
            .select_related("incident")
            .first()
        )
        number = announcement.incident.number if announcement else None
    return number


def _clicked(
    interaction: interactions.Interaction, action: dict[str, Any], *, needs: Action
) -> tuple[User, Incident] | str:
    """Who clicked, on which incident, if they may; otherwise what to tell them."""
    actor = linked_user(interaction.slack_user_id)
    if actor is None:
        return not_linked_text()
    number = _incident_number(interaction, action)
    incident = (
        Incident.objects.select_related("severity").filter(number=number).first()
        if number is not None
        else None
    )
    if incident is None or not can_view(actor, incident):
        return "That incident is gone, or you may not see it."
    if not can(actor, needs, incident):
        return (
            f"Your Tocsin role ({actor.get_role_display()}) may not change incidents, so "
            f"nothing was done to {incident.ref}. Ask an admin to make you a responder."
        )
    return actor, incident


def _key(interaction: interactions.Interaction, action: dict[str, Any]) -> str:
    return (
        f"click:{action.get('action_ts', '')}:{interaction.slack_user_id}:"
        f"{action.get('action_id', '')}"
    )


def _tell(
    interaction: interactions.Interaction, text: str, *, key: str, incident_id: int | None = None
) -> None:
    if not interaction.response_url:
        return
    responses.respond(
        interaction.response_url, blocks.ephemeral(text), key=key, incident_id=incident_id
    )


def _run(
    interaction: interactions.Interaction,
    action: dict[str, Any],
    act: Any,
    *,
    needs: Action = Action.RESPOND,
) -> None:
    """Check the click, carry it out once, and tell the clicker how it went."""
    key = _key(interaction, action)
    clicked = _clicked(interaction, action, needs=needs)
    if isinstance(clicked, str):
        _tell(interaction, clicked, key=key)
        return
    actor, incident = clicked

    def carry_out() -> Answer:
        message = blocks.ephemeral(act(interaction, action, actor, incident))
        return Answer({"response_url": interaction.response_url, "message": message}, incident.pk)

    try:
        # The change and its answer commit together, once, however many runs overlap.
        act_once(kind=responses.KIND, key=f"response:{key}", act=carry_out)
    except (Conflict, PermissionDenied, ValidationError) as refusal:
        _tell(
            interaction,
            f"{incident.ref}: {refusal_text(refusal)}",
            key=key,
            incident_id=incident.pk,
        )


def _acknowledge(
    interaction: interactions.Interaction, action: dict[str, Any], actor: User, incident: Incident
) -> str:
    before = incident.status
    incident = incident_services.incident_acknowledge(
        incident=incident, actor=actor, source=Source.SLACK
    )
    if before != Status.DETECTED:
        return f"{incident.ref} was already acknowledged: it is {incident.get_status_display()}."
    return f"You acknowledged {incident.ref}."


def _resolve(
    interaction: interactions.Interaction, action: dict[str, Any], actor: User, incident: Incident
) -> str:
    incident_services.incident_resolve(incident=incident, actor=actor, source=Source.SLACK)
    return f"{incident.ref} is resolved. Add the resolution with `/incident note <text>`."


def _change_severity(
    interaction: interactions.Interaction, action: dict[str, Any], actor: User, incident: Incident
) -> str:
    chosen = str((action.get("selected_option") or {}).get("value", ""))
    name = chosen.split(":", 1)[-1]
    severity = severity_named(name) if name else None
    if severity is None:
        valid = ", ".join(Severity.objects.values_list("name", flat=True))
        return (
            f"Pick a severity from the menu, or type `/incident {incident.ref} severity <SEVn>` "
            f"(valid: {valid})."
        )
    if incident.severity_id == severity.pk:
        return f"{incident.ref} is already {severity.name}."
    incident_services.incident_set_severity(
        incident=incident, actor=actor, severity=severity, source=Source.SLACK
    )
    return f"{incident.ref} is now {severity.name}."


def _join(
    interaction: interactions.Interaction, action: dict[str, Any], actor: User, incident: Incident
) -> str:
    channel = IncidentChannel.objects.filter(incident=incident).exclude(channel_id="").first()
    if channel is None:
        return f"{incident.ref}'s channel is not created yet: try again in a moment."
    if channel.archived_at is not None:
        return f"{incident.ref}'s channel is archived."
    outbox.call_add(
        kind=INVITE_KIND,
        key=f"join:{channel.channel_id}:{interaction.slack_user_id}:{action.get('action_ts', '')}",
        incident_id=incident.pk,
        payload={"channel": channel.channel_id, "user": interaction.slack_user_id},
    )
    return f"Inviting you to <#{channel.channel_id}>."


def acknowledge_clicked(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    _run(interaction, action, _acknowledge)
    return None


def resolve_clicked(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    _run(interaction, action, _resolve)
    return None


def severity_chosen(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    _run(interaction, action, _change_severity)
    return None


def join_clicked(
    interaction: interactions.Interaction, action: dict[str, Any]
) -> dict[str, Any] | None:
    # Joining changes nothing on the incident: seeing it is enough.
    _run(interaction, action, _join, needs=Action.VIEW)
    return None


def send_invite(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    try:
        client.conversations_invite(
            channel=str(call.payload["channel"]), users=str(call.payload["user"])
        )
    except SlackApiError as error:
        # Already there (joined by hand meanwhile): what the click asked for is done.
        if (error.response.data or {}).get("error") == "already_in_channel":
            return {"already_in_channel": True}
        raise
    return None


def connect() -> None:
    interactions.register_action(interactions.ANNOUNCEMENT_ACK, acknowledge_clicked)
    interactions.register_action(interactions.ANNOUNCEMENT_RESOLVE, resolve_clicked)
    interactions.register_action(interactions.ANNOUNCEMENT_SEVERITY, severity_chosen)
    interactions.register_action(interactions.ANNOUNCEMENT_JOIN, join_clicked)
    outbox.register_sender(INVITE_KIND, send_invite)
