"""What a postmortem template is given: plain data read from the incident, its figures and a
factual narrative, so the team starts from facts, not a blank page.

Everything here is a dict, list, string, number or datetime (rendering.py explains why), read
with a fixed number of queries however long the timeline is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from alerts.models import Alert
from incidents.models import EventKind, Incident, RoleAssignment, TimelineEvent
from postmortems.models import ActionItem, Postmortem

UTC_FORMAT = "%Y-%m-%d %H:%M"
# Alert annotations that point at something a reader of the postmortem wants to open.
LINK_ANNOTATIONS = {
    "runbook_url": "Runbook",
    "runbook": "Runbook",
    "dashboard_url": "Dashboard",
    "dashboard": "Dashboard",
    "grafana_url": "Dashboard",
    "logs_url": "Logs",
}
# Sources whose incidents were opened by a monitor rather than a person.
ALERT_SOURCES = {"alertmanager", "events-api", "webhook"}


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    definition: str
    value: timedelta | None

    @property
    def text(self) -> str:
        return duration_text(self.value)


def duration_text(value: timedelta | None) -> str:
    """'7 min', '1 h 3 min', '2 d 4 h'; 'n/a' for a moment that never came."""
    if value is None:
        return "n/a"
    seconds = int(value.total_seconds())
    if seconds < 0:
        return "-" + duration_text(-value)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def figures(incident: Incident) -> list[Figure]:
    """Time to detect, acknowledge, mitigate and resolve, each from when impact began."""
    start = incident.started_at

    def since_start(moment: datetime | None) -> timedelta | None:
        return None if moment is None else moment - start

    return [
        Figure(
            "time_to_detect",
            "Time to detect",
            "impact began → detected",
            since_start(incident.detected_at),
        ),
        Figure(
            "time_to_acknowledge",
            "Time to acknowledge",
            "impact began → first acknowledged",
            since_start(incident.acknowledged_at),
        ),
        Figure(
            "time_to_mitigate",
            "Time to mitigate",
            "impact began → first monitoring",
            since_start(incident.mitigated_at),
        ),
        Figure(
            "time_to_resolve",
            "Time to resolve",
            "impact began → resolved",
            since_start(incident.resolved_at),
        ),
    ]


def _clock(moment: datetime, previous: datetime | None) -> str:
    """14:09, or 'Dec 5 02:10' when the day changed since the previous moment named."""
    if previous is not None and moment.date() == previous.date():
        return f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


def narrative(incident: Incident, *, reopened: int) -> str:
    """One paragraph of facts: 'Impact began 14:02 UTC, detected 14:09 (+7 min), …'."""
    start = incident.started_at.astimezone(UTC)
    moments = [
        ("detected", incident.detected_at),
        ("acknowledged", incident.acknowledged_at),
        ("identified", incident.identified_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
    ]
    said = [f"Impact began {start:%Y-%m-%d %H:%M} UTC"]
    previous = start
    for word, moment in moments:
        if moment is None:
            continue
        moment = moment.astimezone(UTC)
        said.append(f"{word} {_clock(moment, previous)} (+{duration_text(moment - start)})")
        previous = moment
    text = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1] + "."
    if reopened:
        text += f" It was reopened {'once' if reopened == 1 else f'{reopened} times'}."
    return text


def _entry(event: TimelineEvent) -> dict[str, Any]:
    at = event.occurred_at.astimezone(UTC)
    return {
        "at": at,
        "at_utc": f"{at:{UTC_FORMAT}}",
        "kind": event.kind,
        "message": " ".join(event.message.split()),
        "actor": event.actor.display_name if event.actor is not None else "Tocsin",
        "source": event.source,
        "highlighted": event.highlighted,
        "pinned": event.kind == EventKind.SLACK and bool(event.data.get("pinned")),
        "permalink": str(event.data.get("permalink", "")),
    }


def _person(user: Any) -> dict[str, str] | None:
    if user is None:
        return None
    return {"name": user.display_name, "username": user.username, "email": user.email}


def postmortem_context(
    *, incident: Incident, postmortem: Postmortem | None = None
) -> dict[str, Any]:
    """The template's context for `incident` (fetched with severity, team and commander)."""
    timeline = [
        _entry(event)
        for event in TimelineEvent.objects.filter(incident=incident, removed_at__isnull=True)
        .select_related("actor")
        .order_by("occurred_at", "id")
    ]
    key_moments = [entry for entry in timeline if entry["highlighted"] or entry["pinned"]]
    roles = [
        {
            "role": assignment.get_role_display(),
            "key": assignment.role,
            **(_person(assignment.user) or {}),
        }
        for assignment in RoleAssignment.objects.filter(incident=incident).select_related("user")
    ]
    services = [service.name for service in incident.services.all()]
    links: dict[str, str] = {}
    alert_count = 0
    for alert in Alert.objects.filter(incident=incident).only("annotations", "source_url", "title"):
        alert_count += 1
        for name, label in LINK_ANNOTATIONS.items():
            url = alert.annotations.get(name) if isinstance(alert.annotations, dict) else None
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                links.setdefault(url, label)
        if alert.source_url:
            links.setdefault(alert.source_url, "Alert source")
    reopened = sum(1 for entry in timeline if entry["kind"] == EventKind.REOPENED)
    figure_list = figures(incident)
    by_source = incident.source in ALERT_SOURCES
    action_items = [
        {
            "title": item.title,
            "owner": item.owner.display_name if item.owner else "",
            "due_date": item.due_date,
            "status": item.get_status_display(),
            "priority": item.get_priority_display(),
            "kind": item.get_kind_display(),
            "ticket_url": item.ticket_url,
        }
        for item in ActionItem.objects.filter(incident=incident)
        .select_related("owner")
        .order_by("due_date", "id")
    ]
    return {
        "incident": {
            "ref": incident.ref,
            "number": incident.number,
            "title": incident.title,
            "summary": incident.summary,
            "resolution": incident.resolution,
            "severity": incident.severity.name,
            "severity_description": incident.severity.description,
            "status": incident.get_status_display(),
            "team": incident.team.name if incident.team else "",
            "services": services,
            "source": incident.get_source_display(),
            "cause_category": incident.cause_category,
            "private": incident.private,
            "url": settings.BASE_URL.rstrip("/") + incident.get_absolute_url(),
            "started_at": incident.started_at,
            "detected_at": incident.detected_at,
            "declared_at": incident.declared_at,
            "acknowledged_at": incident.acknowledged_at,
            "identified_at": incident.identified_at,
            "mitigated_at": incident.mitigated_at,
            "resolved_at": incident.resolved_at,
            "commander": _person(incident.commander),
            "labels": dict(incident.labels) if isinstance(incident.labels, dict) else {},
        },
        "postmortem": {
            "status": postmortem.get_status_display() if postmortem else "Draft",
            "authors": [],
        },
        "roles": roles,
        "figures": {figure.key: figure.text for figure in figure_list},
        "figure_list": [
            {"key": f.key, "label": f.label, "definition": f.definition, "text": f.text}
            for f in figure_list
        ],
        "duration": duration_text(figure_list[-1].value),
        "narrative": narrative(incident, reopened=reopened),
        "timeline": timeline,
        "key_moments": key_moments,
        "reopened": reopened,
        "detection": {
            "method": "Alert" if by_source else "Human report",
            "alerts": alert_count,
            "time_to_detect": figure_list[0].text,
        },
        "links": [{"url": url, "label": label} for url, label in links.items()],
        "action_items": action_items,
    }
