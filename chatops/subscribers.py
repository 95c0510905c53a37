"""How chatops hears of incidents: domain events in, outbox rows out."""

from chatops import commands, interactions, slack_events
from chatops.models import InboundKind
from chatops.services import announcements, channels, inbound
from incidents import events
from incidents.models import EventKind


def connect() -> None:
    inbound.register_processor(InboundKind.EVENT, slack_events.process_event)
    inbound.register_processor(InboundKind.COMMAND, commands.process_command)
    inbound.register_processor(InboundKind.INTERACTION, interactions.process_interaction)
    channels.connect()
    announcements.connect()
    events.subscribe(events.IncidentDeclared, on_declared)
    events.subscribe(events.IncidentStatusChanged, on_status_changed)
    events.subscribe(events.IncidentSeverityChanged, on_severity_changed)
    events.subscribe(events.IncidentRoleAssigned, on_role_assigned)
    events.subscribe(events.IncidentUpdatePosted, on_update_posted)
    events.subscribe(events.IncidentResolved, on_resolved)
    events.subscribe(events.IncidentReopened, on_reopened)
    events.subscribe(events.IncidentMerged, on_merged)


# Whatever declared it (web, API, alert, Slack): a channel, the announcement, and for a SEV3
# the team's channel.
def on_declared(event: events.IncidentDeclared) -> None:
    channels.channel_open(incident_id=event.incident_id)
    announcements.announcement_refresh(event.incident_id)
    channels.team_notify(incident_id=event.incident_id)


def on_status_changed(event: events.IncidentStatusChanged) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    kind = {
        "acknowledged": EventKind.ACKNOWLEDGED,
        "resolved": EventKind.RESOLVED,
    }.get(event.new_status, EventKind.STATUS_CHANGED)
    if event.old_status == "resolved":
        kind = EventKind.REOPENED
    channels.notice_for_change(
        incident_id=event.incident_id,
        kind=kind,
        data={"from": event.old_status, "to": event.new_status},
    )


def on_severity_changed(event: events.IncidentSeverityChanged) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    channels.notice_for_change(
        incident_id=event.incident_id,
        kind=EventKind.SEVERITY_CHANGED,
        data={"from": event.old_severity, "to": event.new_severity},
    )
    channels.team_notify(incident_id=event.incident_id)


def on_role_assigned(event: events.IncidentRoleAssigned) -> None:
    announcements.announcement_refresh(event.incident_id)
    channels.setup_refresh(incident_id=event.incident_id)
    channels.notice_for_change(
        incident_id=event.incident_id, kind=EventKind.ROLE_ASSIGNED, data={"role": event.role}
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
    channels.notice_merged(incident_id=event.incident_id, survivor_id=event.survivor_id)
