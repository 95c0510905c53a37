"""What a postmortem template is given: plain data read from the incident, its figures and a
factual narrative, so the team starts from facts, not a blank page.

Everything here is a dict, list, string, number, date or None (rendering.py explains why),
read with a fixed number of queries however long the timeline is: rows are read as values,
not model instances, so a 5,000-entry timeline costs one query and little Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models.fields.json import KeyTransform

from alerts.models import LINK_SCHEMES, Alert
from incidents.models import EventKind, Incident, RoleAssignment, TimelineEvent
from postmortems.models import ActionItem, Postmortem

UTC_FORMAT = "%Y-%m-%d %H:%M"
# Alert annotations that point at something a reader of the postmortem wants to open, and
# what to call the link. Other annotations ending in "_url" are linked under their own name.
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
# Who an entry without a person is by: Tocsin itself (an alert, a page, a timer).
SYSTEM_NAME = "Tocsin"


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
    """Time to detect, acknowledge, mitigate and resolve, each from when impact began, as
    the incident page measures them."""
    start = incident.started_at

    def since_start(moment: datetime | None) -> timedelta | None:
        return None if moment is None else moment - start

    return [
        Figure(
            "time_to_detect",
            "Time to detect",
            "from impact beginning to detection",
            since_start(incident.detected_at),
        ),
        Figure(
            "time_to_acknowledge",
            "Time to acknowledge",
            "from impact beginning to the first acknowledgement",
            since_start(incident.acknowledged_at),
        ),
        Figure(
            "time_to_mitigate",
            "Time to mitigate",
            "from impact beginning to mitigation (first moved to monitoring)",
            since_start(incident.mitigated_at),
        ),
        Figure(
            "time_to_resolve",
            "Time to resolve",
            "from impact beginning to resolution",
            since_start(incident.resolved_at),
        ),
    ]


def _clock(moment: datetime, previous: datetime) -> str:
    """'14:09', or '2026-03-02 02:10' when the day changed since the moment named before."""
    if moment.date() == previous.date():
        return f"{moment:%H:%M}"
    return f"{moment:{UTC_FORMAT}}"


def narrative(incident: Incident, *, reopened: int) -> str:
    """One paragraph of facts in the order they happened: 'Impact began 2026-03-01 14:02 UTC,
    detected 14:09 (+7 min), …, and resolved 15:10 (+1 h 8 min).'"""
    start = incident.started_at.astimezone(UTC)
    declared_later = incident.declared_at != incident.detected_at
    moments = [
        ("detected", incident.detected_at),
        ("declared", incident.declared_at if declared_later else None),
        ("acknowledged", incident.acknowledged_at),
        ("identified", incident.identified_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
    ]
    # Statuses may be skipped and times are editable: tell them in the order they happened.
    known = sorted(
        ((moment.astimezone(UTC), word) for word, moment in moments if moment is not None),
        key=lambda pair: pair[0],
    )
    said = [f"Impact began {start:{UTC_FORMAT}} UTC"]
    previous = start
    for moment, word in known:
        said.append(f"{word} {_clock(moment, previous)} (+{duration_text(moment - start)})")
        previous = moment
    text = ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else said[0]
    text += "."
    if reopened:
        text += f" It was reopened {'once' if reopened == 1 else f'{reopened} times'}."
    return text


def _name(first: str | None, last: str | None, username: str | None) -> str:
    """A user's display_name from their columns, for rows read as values."""
    if username is None:
        return SYSTEM_NAME
    return f"{first or ''} {last or ''}".strip() or username


def _timeline(incident: Incident) -> list[dict[str, Any]]:
    """The timeline in UTC, oldest first, without entries taken back at their source (a
    Slack message unpinned)."""
    rows = (
        TimelineEvent.objects.filter(incident=incident, removed_at__isnull=True)
        .order_by("occurred_at", "id")
        .values_list(
            "occurred_at",
            "kind",
            "message",
            "source",
            "highlighted",
            "actor__first_name",
            "actor__last_name",
            "actor__username",
            KeyTransform("pinned", "data"),
            KeyTransform("permalink", "data"),
        )
    )
    timeline = []
    names: dict[str | None, str] = {}
    for at, kind, message, source, highlighted, first, last, username, pin, link in rows:
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        name = names.get(username)
        if name is None:
            name = names[username] = _name(first, last, username)
        # Every Slack entry is a message someone pinned or 📌-reacted (chatops.services.pins)
        # unless it says otherwise.
        pinned = kind == EventKind.SLACK and pin is not False
        timeline.append(
            {
                "at": at,
                # 2026-03-01 14:02, as UTC_FORMAT, at a fraction of strftime's cost.
                "at_utc": at.replace(tzinfo=None).isoformat(" ", "minutes"),
                "kind": kind,
                "message": " ".join(message.split()),
                "actor": name,
                "source": source,
                "highlighted": highlighted,
                "pinned": pinned,
                "key_moment": highlighted or pinned,
                "permalink": link if isinstance(link, str) and link.startswith("https://") else "",
            }
        )
    return timeline


def _person(user: Any) -> dict[str, str] | None:
    if user is None:
        return None
    return {"name": user.display_name, "username": user.username, "email": user.email}


def _alerts(incident: Incident) -> tuple[int, str, list[dict[str, str]]]:
    """How many alerts the incident has, the first one's title, and the links they carry
    (runbooks, dashboards, their source), each once, in the order the alerts started."""
    links: dict[str, str] = {}
    count = 0
    first = ""
    rows = Alert.objects.filter(incident=incident).order_by("starts_at", "id")
    for title, notes, source_url in rows.values_list("title", "annotations", "source_url"):
        count += 1
        first = first or title
        for name, url in (notes if isinstance(notes, dict) else {}).items():
            label = LINK_ANNOTATIONS.get(name)
            if label is None and name.endswith("_url"):
                label = name.removesuffix("_url").replace("_", " ").capitalize()
            if label and isinstance(url, str) and url.startswith(LINK_SCHEMES):
                links.setdefault(url, label)
        if source_url.startswith(LINK_SCHEMES):
            links.setdefault(source_url, "Alert source")
    return count, first, [{"url": url, "label": label} for url, label in links.items()]


def postmortem_context(
    *, incident: Incident, postmortem: Postmortem | None = None
) -> dict[str, Any]:
    """The template's context for `incident` (fetched with severity, team and commander)."""
    timeline = _timeline(incident)
    roles = [
        {"role": role.get_role_display(), "key": str(role.role), **(_person(role.user) or {})}
        for role in RoleAssignment.objects.filter(incident=incident)
        .select_related("user")
        .order_by("assigned_at", "id")
    ]
    services = list(incident.services.order_by("name").values_list("name", flat=True))
    alert_count, first_alert, links = _alerts(incident)
    reopened = sum(1 for entry in timeline if entry["kind"] == EventKind.REOPENED)
    figure_list = figures(incident)
    by_alert = incident.source in ALERT_SOURCES
    action_items = [
        {
            "title": item.title,
            "owner": item.owner.display_name if item.owner else "",
            "team": item.team.name if item.team else "",
            "due_date": item.due_date,
            "status": item.get_status_display(),
            "priority": item.get_priority_display(),
            "kind": item.get_kind_display(),
            "ticket_url": item.ticket_url,
        }
        for item in ActionItem.objects.filter(incident=incident)
        .select_related("owner", "team")
        .order_by("due_date", "id")
    ]
    authors = (
        [author.display_name for author in postmortem.authors.order_by("first_name", "username")]
        if postmortem is not None
        else []
    )
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
            "started_at": incident.started_at.astimezone(UTC),
            "detected_at": incident.detected_at.astimezone(UTC),
            "declared_at": incident.declared_at.astimezone(UTC),
            "acknowledged_at": _utc(incident.acknowledged_at),
            "identified_at": _utc(incident.identified_at),
            "mitigated_at": _utc(incident.mitigated_at),
            "resolved_at": _utc(incident.resolved_at),
            "commander": _person(incident.commander),
            "labels": dict(incident.labels) if isinstance(incident.labels, dict) else {},
        },
        "postmortem": {
            "title": postmortem.title if postmortem else "",
            "status": postmortem.get_status_display() if postmortem else "Draft",
            "authors": authors,
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
        "key_moments": [entry for entry in timeline if entry["key_moment"]],
        "reopened": reopened,
        "detection": {
            "method": "Alert" if by_alert else "Human report",
            "source": incident.get_source_display(),
            "alerts": alert_count,
            "first_alert": first_alert,
            "time_to_detect": figure_list[0].text,
        },
        "links": links,
        "action_items": action_items,
    }


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)
