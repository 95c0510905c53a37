"""What a postmortem template is given: plain data read from the incident, its figures and a
factual narrative, so the team starts from facts, not a blank page.

Everything here is a dict, list, string, number, date or None (rendering.py explains why),
read with a fixed number of queries however long the timeline is: rows are read as values,
not model instances, and the timeline is chosen in SQL (see _timeline), so an incident of
25,000 entries costs what one of 1,000 does.

Every string in it is `block()`ed: text from the incident (its summary, a note, an alert's
title) reads as text wherever a template puts it, and can never open a section, close a code
block or carry a marker that postmortems/document.py would read as the template's own.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, Value, When, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Left

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

# The postmortem's timeline is for reading; the incident page keeps every entry. An alert
# storm writes tens of thousands (the default template wrote 966 KiB for 5,000, and an
# incident of 20,000 was past rendering.MAX_OUTPUT), so the context carries at most this many,
# each message at most MESSAGE_LIMIT characters: even if every one is a key moment, written
# twice (the key moments and the full timeline), that is 1.1 MB, under MAX_OUTPUT.
TIMELINE_LIMIT = 1_000
MESSAGE_LIMIT = 500
# What the timeline keeps first: the key moments (highlighted entries and Slack pins), then
# these, which tell the incident's course and what people said; then the entries that come in
# bulk and say little one by one (alerts, pages, checklist ticks, unpinned Slack messages),
# oldest first, up to the limit.
STORY_KINDS = (
    EventKind.DECLARED,
    EventKind.ACKNOWLEDGED,
    EventKind.STATUS_CHANGED,
    EventKind.SEVERITY_CHANGED,
    EventKind.ROLE_ASSIGNED,
    EventKind.NOTE,
    EventKind.STATUS_UPDATE,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.MERGED,
    EventKind.EDITED,
)
# How the note under a shortened timeline names what it left out.
KIND_PLURALS: dict[str, str] = {
    EventKind.ALERT: "alerts",
    EventKind.PAGE: "pages",
    EventKind.SLACK: "Slack messages",
    EventKind.CHECKLIST: "checklist ticks",
    EventKind.NOTE: "notes",
    EventKind.STATUS_UPDATE: "status updates",
}
# Links are read from the first alerts only: a storm's thousands carry the same few.
ALERTS_READ_FOR_LINKS = 200
LINKS_LIMIT = 20


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


def _url(value: object, schemes: tuple[str, ...] = LINK_SCHEMES) -> str:
    """`value` if it is a link a reader may follow: a known scheme, no whitespace (a URL that
    runs over lines would carry text out of its link)."""
    if isinstance(value, str) and value.startswith(schemes) and not _has_space(value):
        return value
    return ""


def _has_space(text: str) -> bool:
    return any(character.isspace() for character in text)


def _shorten(message: str, cut: bool) -> str:
    """The message on one line, at most MESSAGE_LIMIT characters; `cut` if SQL cut it."""
    text = " ".join(message.split())
    if cut or len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT].rstrip() + "…"
    return text


@dataclass(frozen=True)
class Timeline:
    entries: list[dict[str, Any]]
    # Entries of each kind, taken back ones aside, whether shown or not.
    counts: Counter[str]
    omitted: int
    omitted_kinds: str


def _timeline(incident: Incident) -> Timeline:
    """The timeline in UTC, oldest first, without entries taken back at their source (a
    Slack message unpinned), shortened to TIMELINE_LIMIT entries in SQL: two queries, one of
    at most TIMELINE_LIMIT rows, however long the incident's timeline is."""
    shown = TimelineEvent.objects.filter(incident=incident, removed_at__isnull=True)
    # Every Slack entry is a message someone pinned or 📌-reacted (chatops.services.pins)
    # unless it says otherwise.
    unpinned_slack = Q(kind=EventKind.SLACK, data__pinned=False)
    rank = Case(
        When(highlighted=True, then=Value(0)),
        When(unpinned_slack, then=Value(2)),
        When(kind=EventKind.SLACK, then=Value(0)),
        When(kind__in=STORY_KINDS, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    by_rank = shown.annotate(rank=rank).order_by("rank", "occurred_at", "id")
    chosen = by_rank.values("pk")[:TIMELINE_LIMIT]
    fetched = 2 * MESSAGE_LIMIT
    rows = (
        TimelineEvent.objects.filter(pk__in=chosen)
        .order_by("occurred_at", "id")
        .values_list(
            "occurred_at",
            "kind",
            Left("message", fetched),
            "source",
            "highlighted",
            "actor__first_name",
            "actor__last_name",
            "actor__username",
            KeyTransform("pinned", "data"),
            KeyTransform("permalink", "data"),
        )
    )
    counts: Counter[str] = Counter(
        dict(shown.order_by().values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    )
    entries = []
    names: dict[str | None, str] = {}
    for at, kind, message, source, highlighted, first, last, username, pin, link in rows:
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        name = names.get(username)
        if name is None:
            name = names[username] = _name(first, last, username)
        pinned = kind == EventKind.SLACK and pin is not False
        entries.append(
            {
                "at": at,
                # 2026-03-01 14:02, as UTC_FORMAT, at a fraction of strftime's cost.
                "at_utc": at.replace(tzinfo=None).isoformat(" ", "minutes"),
                "kind": kind,
                "message": _shorten(message, len(message) >= fetched),
                "actor": name,
                "source": source,
                "highlighted": highlighted,
                "pinned": pinned,
                "key_moment": highlighted or pinned,
                "permalink": _url(link, ("https://",)),
            }
        )
    left_out = counts - Counter(entry["kind"] for entry in entries)
    kinds = [
        KIND_PLURALS.get(kind, f"{kind.replace('_', ' ')} entries")
        for kind, _ in sorted(left_out.items(), key=lambda pair: (-pair[1], pair[0]))
    ]
    return Timeline(
        entries=entries,
        counts=counts,
        omitted=left_out.total(),
        omitted_kinds=_and(kinds),
    )


def _and(words: list[str]) -> str:
    """'alerts', 'alerts and pages', 'alerts, pages and notes'."""
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def _person(user: Any) -> dict[str, str] | None:
    if user is None:
        return None
    return {"name": user.display_name, "username": user.username, "email": user.email}


def _alerts(incident: Incident) -> tuple[int, str, list[dict[str, str]]]:
    """How many alerts the incident has, the first one's title, and the links the first
    ALERTS_READ_FOR_LINKS carry (runbooks, dashboards, their source), each once, in the order
    the alerts started, at most LINKS_LIMIT. One query of at most ALERTS_READ_FOR_LINKS rows."""
    links: dict[str, str] = {}
    count = 0
    first = ""
    rows = (
        Alert.objects.filter(incident=incident)
        .order_by("starts_at", "id")
        .annotate(total=Window(Count("id")))
        .values_list("title", "annotations", "source_url", "total")[:ALERTS_READ_FOR_LINKS]
    )
    for title, notes, source_url, total in rows:
        count = total
        first = first or title
        for name, url in (notes if isinstance(notes, dict) else {}).items():
            label = LINK_ANNOTATIONS.get(name)
            if label is None and name.endswith("_url"):
                label = name.removesuffix("_url").replace("_", " ").capitalize()
            if label and _url(url):
                links.setdefault(url, label)
        if _url(source_url):
            links.setdefault(source_url, "Alert source")
    chosen = list(links.items())[:LINKS_LIMIT]
    return count, first, [{"url": url, "label": label} for url, label in chosen]


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
    reopened = timeline.counts[EventKind.REOPENED]
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
    context = {
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
        "timeline": timeline.entries,
        # Entries of the incident the timeline leaves out (TIMELINE_LIMIT), and of what kinds:
        # "alerts and pages".
        "timeline_omitted": timeline.omitted,
        "timeline_omitted_kinds": timeline.omitted_kinds,
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
    blocked: dict[str, Any] = block_all(context)
    blocked["key_moments"] = [entry for entry in blocked["timeline"] if entry["key_moment"]]
    return blocked


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


# What makes a line structure rather than text, in postmortems/document.py and in Markdown:
# an ATX heading (up to three spaces, then #) and a code fence (``` or ~~~). An HTML comment
# is a marker (<!-- generated -->) wherever its line is, and hides text when rendered.
_STRUCTURE_AT_START = re.compile(r"^( {0,3})(#|```|~~~)")


def block(text: str) -> str:
    r"""`text` as text: a line that would open a heading or a code fence starts escaped
    (`\# `, `\```, `&#126;~~`: Markdown shows them as written), and every `<!--` is
    `&lt;!--`. Lines as str.splitlines() cuts them, as document.parse does (U+2028 too)."""
    if "#" not in text and "`" not in text and "~" not in text and "<!--" not in text:
        return text
    text = text.replace("<!--", "&lt;!--")
    return "".join(_STRUCTURE_AT_START.sub(_escape_start, line) for line in text.splitlines(True))


def _escape_start(match: re.Match[str]) -> str:
    indent, opener = match.groups()
    return indent + ("&#126;~~" if opener == "~~~" else "\\" + opener)


def block_all(value: Any) -> Any:
    """`value` with every string in it, keys too, `block()`ed."""
    if isinstance(value, str):
        return block(value)
    if isinstance(value, dict):
        return {block_all(key): block_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [block_all(item) for item in value]
    return value
