"""The live announcement: one message per place, posted once and then edited in place.

Each place (the incident's channel; the announcements channel, SLACK_ANNOUNCEMENTS_CHANNEL) is
one refreshed outbox row, `announcement:<incident>:<place>`. A change bumps the row; the sender
renders the incident as it stands at send time, so a burst of changes while the row waits
costs one `chat.update` with the latest state. The first send posts and keeps the `ts`
(`Announcement.ts`); every later one edits that message, or posts it again when someone
deleted it in Slack.

`announcement-withdraw:<incident>:<n>` deletes the announcements channel's message of an
incident that became private.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops import interactions
from chatops.blocks import escape, incident_url, link
from chatops.client import slack_configured
from chatops.models import Announcement, IncidentChannel, SlackCall
from chatops.services import outbox
from chatops.services.channels import channel_ready
from chatops.services.outbox import Cancel
from incidents.models import Incident, Severity, Status, StatusUpdate

KIND = "announcement"
WITHDRAW = "announcement.withdraw"
Place = Announcement.Place
# Block Kit limits: a header's text, a section field, an option's text.
HEADER_MAX = 150
FIELD_MAX = 2000
OPTION_MAX = 75
# A confirmation dialog's text, and what it ends with.
CONFIRM_MAX = 300
RESOLVES = "” will be resolved for everyone."
# chat.update's answers for a message that is no longer ours to edit (deleted in Slack).
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message"})
# Seconds an edit waits for more changes to the same announcement.
EDIT_DELAY = 2.0


def announcement_refresh(incident_id: int) -> None:
    """Bring the incident's announcements up to date in Slack (called on every change)."""
    if not slack_configured():
        return
    found = Incident.objects.filter(pk=incident_id).values_list("private", "severity__name").first()
    if found is None:
        return
    private, severity = found
    posted = set(
        Announcement.objects.filter(incident_id=incident_id)
        .exclude(ts="")
        .values_list("place", flat=True)
    )
    places = []
    if IncidentChannel.objects.filter(incident_id=incident_id).exists():
        places.append(Place.INCIDENT_CHANNEL)
    # A private incident is seen by its participants only: never in a channel everyone reads.
    # Below the severities announced there, it is not announced; one already announced stays
    # up to date (lowered to SEV4, it says so rather than vanish).
    chosen = settings.SLACK_ANNOUNCE_SEVERITIES
    announced = not chosen or severity in chosen or Place.ANNOUNCEMENTS in posted
    if settings.SLACK_ANNOUNCEMENTS_CHANNEL and not private and announced:
        places.append(Place.ANNOUNCEMENTS)
    for place in places:
        outbox.call_refresh(
            kind=KIND,
            key=f"announcement:{incident_id}:{place}",
            incident_id=incident_id,
            payload={"place": str(place)},
            # The first post goes at once; edits wait a moment, so a burst of changes (an
            # acknowledgement is two events; a responder clicking through the statuses) is one
            # edit with the final state, and Slack's limit on chat.update is not spent.
            delay=EDIT_DELAY if place in posted else 0.0,
        )


def announcement_withdraw(*, incident_id: int, timeline_event_id: int | None) -> None:
    """The incident became private: take its message out of the announcements channel."""
    if not slack_configured():
        return
    if not Announcement.objects.filter(incident_id=incident_id, place=Place.ANNOUNCEMENTS).exists():
        return
    outbox.call_add(
        kind=WITHDRAW,
        key=f"announcement-withdraw:{incident_id}:{timeline_event_id or 0}",
        incident_id=incident_id,
    )


def _send_withdraw(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    if call.incident_id is None:
        raise Cancel("the call names no incident")
    private = Incident.objects.filter(pk=call.incident_id).values_list("private", flat=True).first()
    if not private:
        raise Cancel("the incident is public (again)")
    announcement = Announcement.objects.filter(
        incident_id=call.incident_id, place=Place.ANNOUNCEMENTS
    ).first()
    if announcement is None:
        return None
    if announcement.ts:
        try:
            client.chat_delete(channel=announcement.channel_id, ts=announcement.ts)
        except SlackApiError as error:
            if error.response.get("error") != "message_not_found":
                raise
    # Forgotten, so a return to public posts a new announcement rather than editing this one.
    announcement.delete()
    return {"deleted": announcement.ts}


def _send(call: SlackCall, client: WebClient) -> dict[str, Any]:
    place = Place(call.payload.get("place", Place.INCIDENT_CHANNEL))
    if call.incident_id is None:
        raise Cancel("the call names no incident")
    incident = (
        Incident.objects.select_related("severity", "commander", "merged_into")
        .prefetch_related("services")
        .filter(pk=call.incident_id)
        .first()
    )
    if incident is None:
        raise Cancel("the incident is gone")
    channel = IncidentChannel.objects.filter(incident=incident).first()
    if place == Place.INCIDENT_CHANNEL:
        if channel is None:
            raise Cancel("the incident has no channel")
        channel.incident = incident
        channel_id = channel_ready(channel)
    else:
        channel_id = settings.SLACK_ANNOUNCEMENTS_CHANNEL
        if not channel_id or incident.private:
            raise Cancel("no announcements channel for this incident")
    announcement, _ = Announcement.objects.get_or_create(incident=incident, place=place)
    joinable = channel is not None and bool(channel.channel_id) and not incident.private
    text = fallback_text(incident)
    blocks = announcement_blocks(incident, join=joinable)
    if announcement.ts:
        try:
            client.chat_update(
                channel=announcement.channel_id, ts=announcement.ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            if error.response.get("error") not in GONE_ERRORS:
                raise
            # Someone deleted it in Slack: post it again, in this same send.
            announcement.ts = ""
            announcement.save(update_fields=["ts"])
    if not announcement.ts:
        answer = client.chat_postMessage(
            channel=channel_id, text=text, blocks=blocks, unfurl_links=False
        )
        # Kept at once: a later failure in this send must not lead to a second post.
        announcement.channel_id = str(answer["channel"])
        announcement.ts = str(answer["ts"])
        announcement.save(update_fields=["channel_id", "ts"])
    return {"channel": announcement.channel_id, "ts": announcement.ts}


def duration_text(incident: Incident) -> str:
    if incident.resolved_at is not None and incident.status == Status.RESOLVED:
        return f"Resolved after {_span(incident.resolved_at - incident.declared_at)}"
    # Nothing edits the message as time passes, so an open incident shows when it began, in
    # each reader's own time zone (Slack's date formatting), which stays true.
    declared = incident.declared_at
    fallback = f"{declared.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return (
        f"Open since <!date^{int(declared.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    )


def _span(delta: Any) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _status_label(incident: Incident) -> str:
    return Status(incident.status).label


def fallback_text(incident: Incident) -> str:
    """What notifications and screen readers show instead of the blocks."""
    commander = incident.commander.display_name if incident.commander else "nobody yet"
    text = (
        f"[{incident.severity.name}] {incident.ref}: {escape(incident.title)} · "
        f"{_status_label(incident)} · Commander: {escape(commander)}"
    )
    if incident.merged_into is not None:
        text += f" · merged into {incident.merged_into.ref}"
    return text


def announcement_blocks(incident: Incident, *, join: bool) -> list[dict[str, Any]]:
    url = incident_url(incident)
    commander = incident.commander.display_name if incident.commander else "Nobody yet"
    services = ", ".join(sorted(s.name for s in incident.services.all())) or "None"
    header = f"{incident.ref}: {incident.title}"
    fields = [
        ("Severity", incident.severity.name),
        ("Status", _status_label(incident)),
        ("Commander", escape(commander)),
        ("Services", escape(services)),
        ("Duration", duration_text(incident)),
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": header[:HEADER_MAX], "emoji": True},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n{value}"[:FIELD_MAX]}
                for name, value in fields
            ],
        },
    ]
    survivor = incident.merged_into
    if survivor is not None:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f":twisted_rightwards_arrows: Merged into "
                    f"{link(incident_url(survivor), survivor.ref)}: "
                    f"{escape(survivor.title)}"[:FIELD_MAX],
                },
            }
        )
    latest = StatusUpdate.objects.filter(incident=incident).order_by("-posted_at", "-pk").first()
    if latest is not None:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*Latest update:* {escape(latest.message)}"[:FIELD_MAX],
                },
            }
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{url}|Open in Tocsin>"}]}
    )
    actions = _actions(incident, join=join)
    if actions:
        blocks.append(
            {"type": "actions", "block_id": f"announcement:{incident.number}", "elements": actions}
        )
    return blocks


def _actions(incident: Incident, *, join: bool) -> list[dict[str, Any]]:
    number = str(incident.number)
    elements: list[dict[str, Any]] = []
    if incident.merged_into_id is None and incident.status != Status.RESOLVED:
        if incident.status == Status.DETECTED:
            elements.append(
                _button("Acknowledge", interactions.ANNOUNCEMENT_ACK, number, "primary")
            )
        resolve = _button("Resolve", interactions.ANNOUNCEMENT_RESOLVE, number, "danger")
        # One click in a busy channel must not end an incident: Slack asks first.
        resolve["confirm"] = {
            "title": {"type": "plain_text", "text": f"Resolve {incident.ref}?"},
            "text": {
                "type": "plain_text",
                "text": f"{incident.ref} “{incident.title}"[: CONFIRM_MAX - len(RESOLVES)]
                + RESOLVES,
            },
            "confirm": {"type": "plain_text", "text": "Resolve"},
            "deny": {"type": "plain_text", "text": "Cancel"},
            "style": "danger",
        }
        elements.append(resolve)
        elements.append(_severity_select(incident))
    if join:
        elements.append(_button("Join channel", interactions.ANNOUNCEMENT_JOIN, number))
    return elements


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _severity_select(incident: Incident) -> dict[str, Any]:
    options = [
        {
            "text": {"type": "plain_text", "text": f"{s.name}: {s.description}"[:OPTION_MAX]},
            "value": s.name,
        }
        for s in Severity.objects.order_by("rank")
    ]
    current = next((o for o in options if o["value"] == incident.severity.name), None)
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": interactions.ANNOUNCEMENT_SEVERITY,
        "placeholder": {"type": "plain_text", "text": "Change severity"},
        "options": options,
    }
    if current is not None:
        select["initial_option"] = current
    return select


def connect() -> None:
    outbox.register_sender(KIND, _send)
    outbox.register_sender(WITHDRAW, _send_withdraw)
