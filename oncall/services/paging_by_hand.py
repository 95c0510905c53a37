"""What responders page by hand from the incident page, until it is resolved: a person, a
team's on-call, or the next level of the incident's escalation policy ("escalate"), before
the acknowledgement or after it (bringing more people in is the most common thing to do
mid-incident). Each locks the incident and refuses a resolved one, so a form shown before
it was resolved pages nobody.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actors import SYSTEM
from accounts.models import User
from incidents.locks import incident_lock
from incidents.models import EventKind, Incident, Source, Status, Team
from incidents.permissions import Action, require
from incidents.timeline import incident_record_event
from oncall import selectors
from oncall.models import Escalation, EscalationPolicy, EscalationState
from oncall.services import deliveries, escalations, handoff
from oncall.services.base import clock
from ops.problems import Conflict


class PagingConflict(Conflict):
    """A page asked for on a view of the incident that is out of date: it was resolved since,
    or its escalation moved on to another level than the one the person confirmed."""


@dataclass(frozen=True)
class Escalated:
    """What "Escalate" did: the policy, the level it pages (1-based), and who was paged when
    that happened at once (None: the engine pages the level within a second)."""

    policy: EscalationPolicy
    level: int
    paged: list[User] | None = None


def _page_by_hand(incident: Incident, users: list[User], *, label: str, now: datetime) -> None:
    """Page `users` outside any escalation policy; they are sent once the transaction commits.
    The caller holds the incident's lock."""
    escalations.page_people(
        incident,
        users,
        key_prefix=f"manual:{incident.pk}:{secrets.token_hex(6)}",
        escalation=None,
        label=label,
        now=now,
    )
    transaction.on_commit(
        lambda: deliveries.notifications_dispatch_due(now=now, incident_id=incident.pk),
        robust=True,
    )


def _record_escalated(incident: Incident, *, actor: User, to: str, now: datetime) -> None:
    incident_record_event(
        incident=incident,
        kind=EventKind.PAGE,
        actor=actor,
        source=Source.WEB,
        message=f"{actor.display_name} escalated to {to}",
        at=now,
    )


def _lock_open(incident: Incident) -> Incident:
    """Lock the incident's row and return it fresh, refusing a page for a resolved one (a form
    rendered before it was resolved). Caller is inside transaction.atomic."""
    incident = incident_lock(incident)
    if incident.status == Status.RESOLVED:
        raise PagingConflict(f"{incident.ref} is resolved: reopen it to page anyone for it.")
    return incident


def page_user_for_incident(
    *, incident: Incident, user: User, actor: User, now: datetime | None = None
) -> None:
    """Page one person for an open incident now, outside any escalation policy; acknowledged
    or not (bringing in more people is the most common thing to do mid-incident)."""
    require(actor, Action.RESPOND, incident)
    # Paging makes them a participant, who may see a private incident: responders only.
    if not user.is_active or not user.can_respond:
        raise ValidationError({"user": f"{user.display_name} cannot be paged for incidents."})
    now = now or clock()
    with transaction.atomic():
        incident = _lock_open(incident)
        _page_by_hand(incident, [user], label=f"paged by {actor.display_name}", now=now)


def page_team_for_incident(
    *, incident: Incident, team: Team, actor: User, now: datetime | None = None
) -> list[User]:
    """The paging panel's "page a team": page whoever the first level of the team's escalation
    policy names now (its on-call), by hand like "page a person", so the incident's own
    escalation is left as it is. Returns the people paged."""
    require(actor, Action.RESPOND, incident)
    policy = selectors.team_policy(team.pk)
    if policy is None:
        raise ValidationError({"team": f"{team.name} has no escalation policy to page."})
    now = now or clock()
    levels = selectors.policy_levels(policy)
    named = selectors.level_users(levels[0], at=now) if levels else []
    # As for "page a person": paging makes them participants, who may see a private incident.
    users = [user for user in named if user.can_respond]
    with transaction.atomic():
        incident = _lock_open(incident)
        label = f"{team.name} on call, paged by {actor.display_name}"
        _page_by_hand(incident, users, label=label, now=now)
        for user in named:
            if user not in users:
                incident_record_event(
                    incident=incident,
                    kind=EventKind.PAGE,
                    actor=SYSTEM,
                    source=Source.SYSTEM,
                    message=f"Did not page {user.display_name} for {team.name}: "
                    "their role may not respond to incidents.",
                    at=now,
                )
    return users


def _check_level(confirmed: int | None, index: int, policy: EscalationPolicy) -> None:
    """Refuse to page another level than the one the person confirmed (1-based): the policy
    moved on while they were deciding."""
    if confirmed is not None and confirmed != index + 1:
        raise PagingConflict(
            f"The escalation moved on: Escalate now pages level {index + 1} of {policy.name}, "
            f"not level {confirmed}. Nobody was paged; confirm again to page level {index + 1}."
        )


def escalate_now(
    *, incident: Incident, actor: User, level: int | None = None, now: datetime | None = None
) -> Escalated | None:
    """The incident page's "escalate", on an open incident: page the next level now.

    Before an acknowledgement: the running policy's next level now, or, when nothing is
    paging (a SEV3, a policy already run through), the incident's policy from level 1; the
    policy then runs on. After one: the level after the last one paged, once, by hand.
    `level` is the level (1-based) the person confirmed; another is refused (PagingConflict).
    None when no escalation policy applies (recorded on the timeline).
    """
    require(actor, Action.RESPOND, incident)
    now = now or clock()
    with transaction.atomic():
        # Lock order as the tick's: escalation, then incident.
        escalation = (
            Escalation.objects.select_for_update(of=("self",))
            .filter(incident_id=incident.pk)
            .select_related("policy")
            .first()
        )
        incident = _lock_open(incident)
        if incident.acknowledged_at is not None:
            return _escalate_acknowledged(incident, escalation, actor=actor, level=level, now=now)
        if escalation is None:
            policy = selectors.policy_for_incident(incident)
            if policy is not None:
                _check_level(level, 0, policy)
            started = escalations.escalation_start(
                incident=incident, policy=policy, now=now, manual=True
            )
            if started is None or started.policy is None:
                return None
            _record_escalated(incident, actor=actor, to=escalations.policy_name(started), now=now)
            return Escalated(started.policy, 1)
        if escalation.policy is None:
            escalation.policy = selectors.policy_for_incident(incident)
            if escalation.policy is None:
                raise ValidationError("No escalation policy applies to this incident.")
        # Before an acknowledgement there is always a level to page (None is for after one).
        index = selectors.escalate_level_index(escalation, acknowledged=False, level_count=0) or 0
        # Capped as the panel and the engine cap it: levels removed from the policy since.
        index = min(index, max(len(selectors.policy_levels(escalation.policy)) - 1, 0))
        _check_level(level, index, escalation.policy)
        escalation.level_index = index
        if escalation.state != EscalationState.ACTIVE:
            # A new run of the policy: its pages get keys of their own, not the last run's.
            escalation.state = EscalationState.ACTIVE
            escalation.run += 1
            escalation.level_index, escalation.cycle = 0, 0
            escalation.stopped_at, escalation.stopped_reason = None, ""
        escalation.next_at = now
        escalation.save()
        to = f"level {escalation.level_index + 1}"
        _record_escalated(incident, actor=actor, to=to, now=now)
        pk = escalation.pk
        transaction.on_commit(lambda: handoff.fire_escalation(pk), robust=True)
    return Escalated(escalation.policy, escalation.level_index + 1)


def _escalate_acknowledged(
    incident: Incident,
    escalation: Escalation | None,
    *,
    actor: User,
    level: int | None,
    now: datetime,
) -> Escalated:
    """Someone acknowledged, so the policy does not run on its own again; "Escalate" pages its
    next level once, by hand, and remembers how far it got. Caller holds the escalation's
    and the incident's locks."""
    policy = escalation.policy if escalation is not None else None
    policy = policy or selectors.policy_for_incident(incident)
    if policy is None:
        raise ValidationError(
            "No escalation policy applies to this incident: page a person or a team instead."
        )
    levels = selectors.policy_levels(policy)
    index = selectors.escalate_level_index(escalation, acknowledged=True, level_count=len(levels))
    if index is None or not levels:
        raise ValidationError(
            f"Every level of {policy.name} has been paged: page a person or a team instead."
        )
    _check_level(level, index, policy)
    if escalation is None:
        escalation = Escalation(incident=incident, created_at=now)
    if escalation.state == EscalationState.ACTIVE or escalation.pk is None:
        # Not started, or the acknowledgement's stop has not run yet: stopped, as it would be.
        escalation.state = EscalationState.STOPPED
        escalation.stopped_at = incident.acknowledged_at
        escalation.stopped_reason = "acknowledged"
    escalation.policy = policy
    escalation.level_index = index + 1
    escalation.next_at = None
    escalation.save()
    users = selectors.level_users(levels[index], at=now)
    _record_escalated(incident, actor=actor, to=f"level {index + 1} of {policy.name}", now=now)
    _page_by_hand(
        incident, users, label=f"level {index + 1}, escalated by {actor.display_name}", now=now
    )
    return Escalated(policy, index + 1, users)
