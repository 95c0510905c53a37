"""Read-only questions about chatops' own data, for handlers, panels and other helpers."""

from __future__ import annotations

from chatops.models import IncidentChannel
from incidents.models import Incident


def incident_for_channel(channel_id: str) -> Incident | None:
    """The incident whose Slack channel this is, or None (not an incident channel)."""
    if not channel_id:
        return None
    channel = (
        IncidentChannel.objects.filter(channel_id=channel_id)
        .select_related("incident", "incident__severity")
        .first()
    )
    return channel.incident if channel is not None else None


def incident_channel(incident_id: int) -> IncidentChannel | None:
    """The incident's channel row (channel_id empty until Slack has created it)."""
    return IncidentChannel.objects.filter(incident_id=incident_id).first()
