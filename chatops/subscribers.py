"""How chatops hears of incidents: domain events in, outbox rows out."""

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from chatops import commands, interactions, slack_events
from chatops.client import slack_configured
from chatops.models import InboundKind, IncidentChannel
from chatops.services import announcements, channels, inbound, notices
from incidents import events
from incidents.models import OPEN_STATUSES, Incident


def connect() -> None:
    inbound.register_processor(InboundKind.EVENT, slack_events.process_event)
    inbound.register_processor(InboundKind.COMMAND, commands.process_command)
    inbound.register_processor(InboundKind.INTERACTION, interactions.process_interaction)
    channels.connect()
    notices.connect()
    announcements.connect()
    events.subscribe(events.IncidentDeclared, on_declared)
    events.subscribe(events.IncidentStatusChanged, on_status_changed)
    events.subscribe(events.IncidentSeverityChanged, on_severity_changed)
    events.subscribe(events.IncidentRoleAssigned, on_role_assigned)
    events.subscribe(events.IncidentUpdatePosted, on_update_posted)
    events.subscribe(events.IncidentResolved, on_resolved)
    events.subscribe(events.IncidentReopened, on_reopened)
    events.subscribe(events.IncidentMerged, on_merged)
    events.subscribe(events.IncidentDetailsChanged, on_details_changed)
    events.subscribe(events.IncidentRespondersAdded, on_responders_added)


# Whatever declared it (web, API, alert, Slack): a channel, the announcement, and for a SEV3
# the team's channel.
def on_declared(event: events.IncidentDeclared) -> None:
    incident_announce(event.incident_id)


def incident_announce(incident_id: int) -> None:
    channels.channel_open(incident_id=incident_id)
    announcements.announcement_refresh(incident_id)
    notices.team_notify(incident_id=incident_id)


def on_status_changed(event: events.IncidentStatusChanged) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    notices.notice_for_change(
        incident_id=event.incident_id, timeline_event_id=event.timeline_event_id
    )


def on_severity_changed(event: events.IncidentSeverityChanged) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    notices.notice_for_change(
        incident_id=event.incident_id, timeline_event_id=event.timeline_event_id
    )
    notices.team_notify(incident_id=event.incident_id)


def on_role_assigned(event: events.IncidentRoleAssigned) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    notices.notice_for_change(
        incident_id=event.incident_id, timeline_event_id=event.timeline_event_id
    )


def on_update_posted(event: events.IncidentUpdatePosted) -> None:
    announcements.announcement_refresh(event.incident_id)


def on_resolved(event: events.IncidentResolved) -> None:
    channels.channel_resolved(incident_id=event.incident_id)
    announcements.announcement_refresh(event.incident_id)


def on_reopened(event: events.IncidentReopened) -> None:
    channels.channel_reopened(incident_id=event.incident_id)
    announcements.announcement_refresh(event.incident_id)


def on_merged(event: events.IncidentMerged) -> None:
    announcements.announcement_refresh(event.incident_id)
    notices.notice_merged(incident_id=event.incident_id, survivor_id=event.survivor_id)


# An edit on the web (title, summary, services, team, private…): the announcements show it,
# and an incident made private leaves the announcements channel. Its channel cannot follow
# (Slack does not let a bot make a public channel private), so it is told.
def on_details_changed(event: events.IncidentDetailsChanged) -> None:
    private = (
        Incident.objects.filter(pk=event.incident_id).values_list("private", flat=True).first()
    )
    if private is None:
        return
    if "private" in event.fields and private:
        announcements.announcement_withdraw(
            incident_id=event.incident_id, timeline_event_id=event.timeline_event_id
        )
        notices.notice_made_private(
            incident_id=event.incident_id, timeline_event_id=event.timeline_event_id
        )
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    if "team" in event.fields:
        notices.team_notify(incident_id=event.incident_id)


# Paged people became participants: invite them now, not at the incident's next change.
def on_responders_added(event: events.IncidentRespondersAdded) -> None:
    channels.setup_refresh(incident_id=event.incident_id)


# Subscribers run after commit, in the process that made the change: one killed in between
# (a web worker recycled) loses the declaration's subscribers, and the incident its channel.
# The tick looks for such incidents among the recent ones; older ones (declared before Slack
# was connected) are left alone.
CATCH_UP_WINDOW = timedelta(hours=24)
# Subscribers that are merely slow (still running) are left this long to do it themselves.
CATCH_UP_GRACE = timedelta(seconds=30)


def declared_catch_up(*, now: datetime | None = None, limit: int = 20) -> list[int]:
    """Announce open incidents declared in the last day that have no channel row. Returns
    their ids."""
    if not slack_configured():
        return []
    now = now or timezone.now()
    missing = list(
        Incident.objects.filter(
            declared_at__gte=now - CATCH_UP_WINDOW,
            declared_at__lte=now - CATCH_UP_GRACE,
            status__in=OPEN_STATUSES,
        )
        .filter(~Exists(IncidentChannel.objects.filter(incident_id=OuterRef("pk"))))
        .order_by("-declared_at")
        .values_list("pk", flat=True)[:limit]
    )
    for incident_id in missing:
        incident_announce(incident_id)
    return missing
