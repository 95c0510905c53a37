"""The demo's postmortems: a draft for every SEV1 and SEV2 the demo resolved, as resolving
does; the two most recent filled in by their teams, with action items, one of them reviewed
and published."""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.models import User
from demo.scenarios import Scenario
from incidents.models import Incident
from postmortems.models import (
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    ContributingFactor,
)
from postmortems.services.action_items import action_item_create, action_item_update
from postmortems.services.postmortems import postmortem_create, postmortem_save_section
from postmortems.services.workflow import (
    postmortem_publish,
    postmortem_request_review,
    postmortem_review,
    postmortem_update_details,
)

# The demo's cause categories, as contributing-factor tags.
FACTORS = {
    "deploy": "change",
    "change": "change",
    "configuration": "configuration",
    "third party": "dependency",
    "capacity": "capacity",
    "query": "software-defect",
    "bug": "software-defect",
    "expiry": "process",
    "security": "security",
    "content": "process",
}


def seed_postmortems(
    past: list[tuple[Incident, Scenario]], users: dict[str, User], *, now: datetime
) -> int:
    drafted = [
        (
            postmortem_create(incident=incident, actor=users["admin"], now=incident.resolved_at),
            scenario,
        )
        for incident, scenario in past
        if incident.severity.name in {"SEV1", "SEV2"} and not incident.private
    ]
    drafted.sort(key=lambda pair: pair[0].incident.resolved_at or now, reverse=True)
    for position, (postmortem, scenario) in enumerate(drafted[:2]):
        incident = postmortem.incident
        author = incident.commander or users["responder"]
        texts = {
            "executive-summary": (
                f"{incident.title}. {scenario.fix} Customers saw errors for "
                f"{_minutes(incident)} minutes."
            ),
            "impact": (
                f"- **Users affected:** about {4 + position * 3} % of active sessions\n"
                "- **Data loss:** none\n"
                f"- **Revenue impact:** an estimated {12 - position * 5}k EUR of delayed orders"
            ),
            "root-cause": scenario.finding,
            "response": (
                "### What went well\n\nThe alert fired within minutes and the rollback was "
                "rehearsed.\n\n### What didn't go well\n\nThe dashboard for the pool was missing "
                "a panel, so the cause took longer to see.\n\n### Where we got lucky\n\nThe "
                "incident began outside peak hours."
            ),
            "lessons-learned": "Connection pools need a saturation alert, not only error rates.",
        }
        for key, text in texts.items():
            postmortem = postmortem_save_section(
                postmortem=postmortem,
                actor=author,
                key=key,
                body=text,
                base_revision=postmortem.revision,
                now=now,
            )
        factor = ContributingFactor.objects.filter(slug=FACTORS.get(scenario.cause, "process"))
        postmortem_update_details(
            postmortem=postmortem, actor=author, contributing_factors=factor, now=now
        )
        owner, other = users["responder"], users["oncall"]
        done = action_item_create(
            incident=incident,
            actor=author,
            title="Alert on connection pool saturation",
            owner=owner,
            kind=ActionItemKind.DETECT,
            priority=ActionItemPriority.P2,
            success_criteria="An alert fires before the pool is 90 % used.",
            now=now,
        )
        action_item_update(
            item=done, actor=owner, changes={"status": ActionItemStatus.DONE}, now=now
        )
        # Planned three weeks ago and not done in time: overdue now.
        planned = now - timedelta(days=21)
        action_item_create(
            incident=incident,
            actor=author,
            title="Add a canary stage to the release pipeline",
            owner=other,
            kind=ActionItemKind.PREVENT,
            priority=ActionItemPriority.P1,
            due_date=(now - timedelta(days=2 + position)).date(),
            now=planned,
        )
        action_item_create(
            incident=incident,
            actor=author,
            title="Write the rollback runbook for this service",
            owner=owner,
            kind=ActionItemKind.PROCESS,
            now=now,
        )
        postmortem = postmortem_request_review(
            postmortem=postmortem, actor=author, reviewers=[users["manager"]], now=now
        )
        if position == 1:
            postmortem_review(postmortem=postmortem, actor=users["manager"], approve=True, now=now)
            postmortem_publish(postmortem=postmortem, actor=author, now=now)
    return len(drafted)


def _minutes(incident: Incident) -> int:
    if incident.resolved_at is None:
        return 0
    return int((incident.resolved_at - incident.started_at).total_seconds() // 60)
