"""Notices: short lines Tocsin posts about an incident, written as outbox rows here and sent by
the senders registered in `connect()`. Keys:

- `notice:<timeline event id>`: a short line in the incident's channel about a status, severity
  or role change (the entry the change's event names); it waits until the channel exists.
  `notice:merged:<incident>` and `notice:private:<incident>:<entry>` say the incident was
  merged away, or made private while its channel stays public.
- `team-notice:<incident>`: a SEV3 tells its team's channel (or, with none set, the
  announcements channel), once per incident.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops import blocks
from chatops.models import IncidentChannel, SlackCall, TeamChannel
from chatops.services import outbox
from chatops.services.channels import channel_for_call, channel_ready
from chatops.services.outbox import Cancel
from incidents.models import EventKind, Incident, Paging, TimelineEvent

NOTICE = "channel.notice"
TEAM_NOTICE = "channel.team_notice"


# Timeline entries whose change gets a notice in the channel.
NOTICE_KINDS = (
    EventKind.ACKNOWLEDGED,
    EventKind.STATUS_CHANGED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.SEVERITY_CHANGED,
    EventKind.ROLE_ASSIGNED,
)


def notice_for_change(*, incident_id: int, timeline_event_id: int | None) -> None:
    """A short notice of the change in the channel: the timeline entry the change's event
    names, keyed by it so it goes once (two changes alike committed together are two
    notices). Only entries of NOTICE_KINDS (a merge's resolution has its own notice)."""
    if timeline_event_id is None:
        return
    if not IncidentChannel.objects.filter(incident_id=incident_id).exists():
        return
    if not TimelineEvent.objects.filter(
        pk=timeline_event_id, incident_id=incident_id, kind__in=NOTICE_KINDS
    ).exists():
        return
    outbox.call_add(
        kind=NOTICE,
        key=f"notice:{timeline_event_id}",
        incident_id=incident_id,
        # The entry is read, and escaped, when the notice is sent.
        payload={"timeline_event_id": timeline_event_id},
    )


def notice_merged(*, incident_id: int, survivor_id: int) -> None:
    survivor = Incident.objects.filter(pk=survivor_id).first()
    if survivor is None or not IncidentChannel.objects.filter(incident_id=incident_id).exists():
        return
    text = (
        f"This incident was merged into {blocks.link(blocks.incident_url(survivor), survivor.ref)}"
        f": {blocks.escape(survivor.title)}"
    )
    outbox.call_add(
        kind=NOTICE,
        key=f"notice:merged:{incident_id}",
        incident_id=incident_id,
        payload={"text": text},
    )


MADE_PRIVATE_NOTICE = (
    ":lock: This incident is now private: it has left the announcements channel and shows in "
    "Tocsin to its participants only. This channel stays public (Slack does not let Tocsin make "
    "it private): keep sensitive details out of it, or move to a private channel."
)


def notice_made_private(*, incident_id: int, timeline_event_id: int | None) -> None:
    """Tell a public incident channel that its incident became private and it did not."""
    channel = IncidentChannel.objects.filter(incident_id=incident_id).first()
    if channel is None or channel.private:
        return
    outbox.call_add(
        kind=NOTICE,
        key=f"notice:private:{incident_id}:{timeline_event_id or 0}",
        incident_id=incident_id,
        payload={"text": MADE_PRIVATE_NOTICE},
    )


def team_notify(*, incident_id: int) -> None:
    """A severity that notifies the team's channel instead of paging: tell it, once. A team
    without a channel (or no team) is told in the announcements channel, when there is one and
    the incident is not private; otherwise the incident's Slack panel says nobody was told."""
    if not settings.SLACK_BOT_TOKEN:
        return
    incident = Incident.objects.select_related("severity").filter(pk=incident_id).first()
    if incident is None or incident.severity.paging != Paging.TEAM_CHANNEL:
        return
    if team_notice_channel(incident) is None:
        return
    outbox.call_add(kind=TEAM_NOTICE, key=f"team-notice:{incident_id}", incident_id=incident_id)


def team_notice_channel(incident: Incident) -> str | None:
    """Where the incident's team notice goes: the team's channel, else the announcements
    channel (never for a private incident, as for its announcement), else nowhere."""
    if incident.team_id is not None:
        channel_id = (
            TeamChannel.objects.filter(team_id=incident.team_id)
            .values_list("channel_id", flat=True)
            .first()
        )
        if channel_id:
            return channel_id
    if settings.SLACK_ANNOUNCEMENTS_CHANNEL and not incident.private:
        return str(settings.SLACK_ANNOUNCEMENTS_CHANNEL)
    return None


def _send_notice(call: SlackCall, client: WebClient) -> dict[str, Any]:
    channel_id = channel_ready(channel_for_call(call))
    entry_id = call.payload.get("timeline_event_id")
    if entry_id is not None:
        # A person's words (a resolution, a reason): `<!channel>` must not ping anyone.
        message = TimelineEvent.objects.filter(pk=entry_id).values_list("message", flat=True)
        if not message:
            raise Cancel("the timeline entry is gone")
        text = blocks.escape(message[0])
    else:
        text = str(call.payload.get("text") or "")  # mrkdwn built (and escaped) by us
    answer = client.chat_postMessage(channel=channel_id, text=text, unfurl_links=False)
    return {"ts": answer.get("ts")}


def _send_team_notice(call: SlackCall, client: WebClient) -> dict[str, Any]:
    if call.incident_id is None:
        raise Cancel("the call names no incident")
    incident = (
        Incident.objects.select_related("severity", "team").filter(pk=call.incident_id).first()
    )
    if incident is None:
        raise Cancel("the incident is gone")
    target = team_notice_channel(incident)
    if target is None:
        raise Cancel("no team channel and no announcements channel")
    text = team_notice_text(incident)
    try:
        answer = client.chat_postMessage(channel=target, text=text, unfurl_links=False)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
        # A private team channel must invite the bot; a public one it may join by itself.
        client.conversations_join(channel=target)
        answer = client.chat_postMessage(channel=target, text=text, unfurl_links=False)
    return {"channel": target, "ts": answer.get("ts")}


def team_notice_text(incident: Incident) -> str:
    if incident.private:
        # The team's channel is seen by more people than a private incident's participants.
        what = f"a private {incident.severity.name} incident"
    else:
        what = f"{incident.severity.name} {blocks.escape(incident.title)}"
    ref = blocks.link(blocks.incident_url(incident), incident.ref)
    if incident.team is None:
        text = f":rotating_light: {ref}: {what}. It has no team; nobody was paged."
    else:
        team = blocks.escape(incident.team.name)
        text = f":rotating_light: {ref}: {what}. For {team}; nobody was paged."
        if not TeamChannel.objects.filter(team=incident.team).exists():
            text += f" ({team} has no team channel set in Tocsin.)"
    channel = IncidentChannel.objects.filter(incident=incident).exclude(channel_id="").first()
    if channel is not None and not incident.private:
        text += f" Join <#{channel.channel_id}>."
    return text


def connect() -> None:
    outbox.register_sender(NOTICE, _send_notice)
    outbox.register_sender(TEAM_NOTICE, _send_team_notice)
