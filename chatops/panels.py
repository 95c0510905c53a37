"""The incident page's "Slack" panel: the incident's channel, or why there is none yet."""

from typing import Any

from django.http import HttpRequest

from chatops.client import slack_configured
from chatops.models import CallState, IncidentChannel, SlackCall, TeamChannel
from chatops.services.notices import team_notice_channel
from incidents.models import Incident, Paging

TEMPLATE = "chatops/_incident_slack.html"


def incident_slack_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    if not slack_configured():
        return {"slack_state": "not_connected"}
    context = _channel_context(incident)
    context["team_note"] = team_note(incident)
    return context


def _channel_context(incident: Incident) -> dict[str, Any]:
    channel = IncidentChannel.objects.filter(incident=incident).first()
    if channel is None:
        # Declared before Slack was connected: nothing was made for it.
        return {"slack_state": "none"}
    if channel.channel_id:
        return {
            "slack_state": "archived" if channel.archived_at else "ready",
            "channel": channel,
            "channel_url": f"https://slack.com/app_redirect?channel={channel.channel_id}",
        }
    create = SlackCall.objects.filter(key=f"channel:{incident.pk}").first()
    if create is not None and create.state in (CallState.FAILED, CallState.CANCELLED):
        return {"slack_state": "failed", "channel": channel, "error": create.last_error}
    return {
        "slack_state": "pending",
        "channel": channel,
        "error": create.last_error if create is not None else "",
    }


def team_note(incident: Incident) -> str:
    """For a severity that tells the team's channel instead of paging, when the team has none:
    where the notice went instead, or that nobody was told. Shown here, not on the timeline
    (it is about Tocsin's set-up, not the incident)."""
    if incident.severity.paging != Paging.TEAM_CHANNEL:
        return ""
    if incident.team_id is not None and TeamChannel.objects.filter(team=incident.team).exists():
        return ""
    whose = f"{incident.team.name} has" if incident.team is not None else "This incident has"
    if team_notice_channel(incident) is not None:
        return f"No team channel set: {whose} none, so the announcements channel was told."
    return f"No team channel set: {whose} none, so nobody was told in Slack."
