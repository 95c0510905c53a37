"""The incident page's paging panel, registered with incidents.panels in OncallConfig.ready().

It sits near the top of the page and says whether an escalation policy is paging the incident
and how far it got, lists every page sent for it by person with what it was for (a level, or
by hand by whom) and where it stands, and gives responders "Page a person", "Page a team" and
"Escalate" until the incident is resolved.

Its state (`#paging-live`) refreshes itself every few seconds while the incident is open, from
its own small fragment: that costs three queries (the incident, its escalation, its pages)
and, when nothing changed, an empty 204 answer. The whole panel costs four queries at most
however many pages there are: the escalation with its policy's level count, the newest pages
with their people and methods, and (for responders) the people and the teams to choose from.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from incidents.models import Incident
from incidents.permissions import Action, can
from oncall.forms import PageTeamForm, PageUserForm
from oncall.models import (
    Escalation,
    EscalationState,
    Notification,
    NotificationState,
)
from oncall.selectors import (
    PAGING_SEVERITIES,
    CountedEscalation,
    escalate_level_index,
    incident_escalation,
    incident_pages,
    pageable_teams,
)
from oncall.services.escalations import START_WINDOW

TEMPLATE = "oncall/_incident_paging.html"
LIVE_TEMPLATE = "oncall/_incident_paging_live.html"
STATE_TEMPLATE = "oncall/_incident_paging_state.html"
PAGES_SHOWN = 100
# Pages still on their way.
IN_FLIGHT = (NotificationState.PENDING, NotificationState.QUEUED, NotificationState.SENDING)
# How often an open incident's panel asks whether its paging changed: soon after declaring,
# while the first level is being paged (within a second or two), then every few seconds.
POLL_STARTING_SECONDS = 2
POLL_SECONDS = 5


@dataclass(frozen=True)
class EscalationProgress:
    """Where the incident's escalation stands, in the panel's words."""

    # starting: the incident pages on its own and was just declared; its escalation is being
    # created (the start_escalation task, within a second; the tick's sweep after 30 s).
    state: EscalationState | Literal["none", "starting"]
    escalation: Escalation | None = None
    level_count: int = 0
    # 1-based; paged_level is 0 while the first level has not fired yet.
    paged_level: int = 0
    next_level: int = 0
    # When the next level is paged; None while it is due now (the tick takes it within seconds).
    next_at: datetime | None = None
    # Exhausted: until when the last level may still acknowledge, while that is ahead.
    answer_by: datetime | None = None


@dataclass(frozen=True)
class PersonPages:
    user: User
    pages: list[Notification]


@dataclass(frozen=True)
class EscalateOffer:
    """What "Escalate" would page now: `level` (1-based) of `policy` (a name; empty when no
    escalation has named it yet), or nothing (level None) once every level was paged after
    the acknowledgement."""

    level: int | None
    policy: str = ""


def paging_state(
    escalation: CountedEscalation | None, *, incident: Incident, now: datetime
) -> EscalationProgress:
    if escalation is None:
        starting = (
            incident.is_open
            and incident.acknowledged_at is None
            and incident.severity.paging in PAGING_SEVERITIES
            and incident.declared_at >= now - START_WINDOW
        )
        return EscalationProgress("starting" if starting else "none")
    count = escalation.level_count
    state = EscalationState(escalation.state)
    if state == EscalationState.EXHAUSTED:
        answer_by = escalation.stopped_at
        ahead = answer_by is not None and answer_by > now
        return EscalationProgress(state, escalation, count, answer_by=answer_by if ahead else None)
    if state == EscalationState.STOPPED:
        return EscalationProgress(state, escalation, count)
    # level_index is the level paged next; the one before it (or the last one, after a
    # repeat) is the one paged most recently.
    if escalation.level_index > 0:
        paged = escalation.level_index
    else:
        paged = count if escalation.cycle > 0 else 0
    next_at = escalation.next_at if escalation.next_at and escalation.next_at > now else None
    return EscalationProgress(
        state, escalation, count, paged, escalation.level_index + 1, next_at=next_at
    )


def escalate_offer(escalation: CountedEscalation | None, *, incident: Incident) -> EscalateOffer:
    count = escalation.level_count if escalation is not None else 0
    acknowledged = incident.acknowledged_at is not None
    index = escalate_level_index(escalation, acknowledged=acknowledged, level_count=count)
    policy = escalation.policy if escalation is not None else None
    if index is not None and count:
        index = min(index, count - 1)  # levels removed from the policy since
    return EscalateOffer(None if index is None else index + 1, policy.name if policy else "")


def by_person(pages: Sequence[Notification]) -> list[PersonPages]:
    """Pages grouped by person, people in the order they were first paged."""
    groups: dict[int, PersonPages] = {}
    for page in pages:
        if page.user_id not in groups:
            groups[page.user_id] = PersonPages(page.user, [])
        groups[page.user_id].pages.append(page)
    return list(groups.values())


@dataclass(frozen=True)
class LiveState:
    """The panel's part that refreshes itself, rendered, with what it was rendered from."""

    escalation: CountedEscalation | None
    html: SafeString
    # Changes whenever the rendered state does: the poll answers 204 while it is the same.
    version: str
    poll_seconds: int | None


def live_state(incident: Incident, request: HttpRequest) -> LiveState:
    """Two queries: the escalation and the newest pages."""
    now = timezone.now()
    escalation = incident_escalation(incident)
    paging = paging_state(escalation, incident=incident, now=now)
    pages = incident_pages(incident, limit=PAGES_SHOWN)
    total = pages[0].total if pages else 0
    in_flight = sum(page.state in IN_FLIGHT for page in pages)
    context = {
        "incident": incident,
        "paging": paging,
        "people": by_person(pages),
        "pages_total": total,
        "pages_shown": len(pages),
        "pages_hidden": total - len(pages),
        "in_flight": in_flight,
        "severity_pages": incident.severity.paging in PAGING_SEVERITIES,
    }
    html = render_to_string(STATE_TEMPLATE, context, request=request)
    version = hashlib.sha256(html.encode()).hexdigest()[:16]
    if not incident.is_open:
        poll = None
    elif paging.state == "starting":
        poll = POLL_STARTING_SECONDS
    else:
        poll = POLL_SECONDS
    # render_to_string escaped the context; the template's own markup is trusted.
    return LiveState(escalation, mark_safe(html), version, poll)  # noqa: S308


def paging_context(
    incident: Incident,
    request: HttpRequest,
    *,
    page_form: PageUserForm | None = None,
    team_form: PageTeamForm | None = None,
    escalate_open: bool = False,
    notice: str = "",
    notice_ok: bool = False,
) -> dict[str, Any]:
    """The panel's context; the incident was fetched for the request's user, who may see it."""
    live = live_state(incident, request)
    can_respond = can(request.user, Action.RESPOND, incident)
    # Bringing more people in is the most common thing to do mid-incident: until it is
    # resolved, acknowledged or not (the services refuse a page for a resolved incident).
    may_page = can_respond and incident.is_open
    return {
        "live": live,
        "can_respond": can_respond,
        "may_page": may_page,
        "page_form": (page_form or PageUserForm(auto_id="page-%s")) if may_page else None,
        "team_form": (team_form or _team_form()) if may_page else None,
        "escalate": escalate_offer(live.escalation, incident=incident) if may_page else None,
        "escalate_open": escalate_open,
        "notice": notice,
        "notice_ok": notice_ok,
    }


def _team_form() -> PageTeamForm | None:
    """None when no team has a policy: there is no team to page."""
    teams = pageable_teams()
    return PageTeamForm(auto_id="page-team-%s", teams=teams) if teams else None


def incident_paging_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    return paging_context(incident, request)
