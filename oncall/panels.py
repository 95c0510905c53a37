"""The incident page's paging panel, registered with incidents.panels in OncallConfig.ready().

It says whether an escalation policy is paging the incident and how far it got, lists every
page sent for it by person, and gives responders "Page a person", "Page a team" and "Escalate".
Four queries at most however many pages there are: the escalation with its policy's level
count, the newest pages with their people and methods, and (for responders) the people and the
teams to choose from.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone

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
    incident_escalation,
    incident_pages,
    pageable_teams,
)

TEMPLATE = "oncall/_incident_paging.html"
PAGES_SHOWN = 100
# Pages still on their way: the panel refreshes itself while any is.
IN_FLIGHT = (NotificationState.PENDING, NotificationState.QUEUED, NotificationState.SENDING)


@dataclass(frozen=True)
class EscalationProgress:
    """Where the incident's escalation stands, in the panel's words."""

    state: EscalationState | Literal["none"]
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


def paging_state(escalation: CountedEscalation | None, *, now: datetime) -> EscalationProgress:
    if escalation is None:
        return EscalationProgress("none")
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


def by_person(pages: Sequence[Notification]) -> list[PersonPages]:
    """Pages grouped by person, people in the order they were first paged."""
    groups: dict[int, PersonPages] = {}
    for page in pages:
        if page.user_id not in groups:
            groups[page.user_id] = PersonPages(page.user, [])
        groups[page.user_id].pages.append(page)
    return list(groups.values())


def paging_context(
    incident: Incident,
    request: HttpRequest,
    *,
    page_form: PageUserForm | None = None,
    team_form: PageTeamForm | None = None,
    notice: str = "",
    notice_ok: bool = False,
) -> dict[str, Any]:
    """The panel's context; the incident was fetched for the request's user, who may see it."""
    now = timezone.now()
    paging = paging_state(incident_escalation(incident), now=now)
    pages = incident_pages(incident, limit=PAGES_SHOWN)
    total = pages[0].total if pages else 0
    can_respond = can(request.user, Action.RESPOND, incident)
    # Tocsin pages nobody for an acknowledged or resolved incident (an escalation stops, and
    # pages still waiting are cancelled), so the actions are offered only before that.
    may_page = can_respond and incident.is_open and incident.acknowledged_at is None
    return {
        "paging": paging,
        "people": by_person(pages),
        "pages_total": total,
        "pages_shown": len(pages),
        "pages_hidden": total - len(pages),
        "severity_pages": incident.severity.paging in PAGING_SEVERITIES,
        "can_respond": can_respond,
        "may_page": may_page,
        "page_form": (page_form or PageUserForm(auto_id="page-%s")) if may_page else None,
        "team_form": (team_form or _team_form()) if may_page else None,
        "live": paging.state == EscalationState.ACTIVE
        or any(page.state in IN_FLIGHT for page in pages),
        "notice": notice,
        "notice_ok": notice_ok,
    }


def _team_form() -> PageTeamForm | None:
    """None when no team has a policy: there is no team to page."""
    teams = pageable_teams()
    return PageTeamForm(auto_id="page-team-%s", teams=teams) if teams else None


def incident_paging_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    return paging_context(incident, request)
