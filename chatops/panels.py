"""The incident page's "Slack" panel: the incident's channel, or why there is none yet."""

from typing import Any

from django.http import HttpRequest

from chatops.client import slack_configured
from chatops.models import CallState, IncidentChannel, SlackCall
from incidents.models import Incident

TEMPLATE = "chatops/_incident_slack.html"


def incident_slack_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    if not slack_configured():
        return {"slack_state": "not_connected"}
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
