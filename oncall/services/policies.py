"""Writes to escalation policies: their settings and levels, and deleting one nothing needs."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, ProtectedError

from accounts.actors import Actor
from accounts.models import User
from incidents.models import Team
from incidents.permissions import Action, require
from oncall import selectors
from oncall.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
    TargetKind,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LevelSpec:
    delay: timedelta
    users: list[User]
    schedules: list[Schedule]
    lead_teams: list[Team]
    management: bool = False


def policy_save(
    *,
    actor: Actor,
    name: str,
    levels: list[LevelSpec],
    team: Team | None = None,
    repeat: int = 0,
    is_default: bool = False,
    description: str = "",
    policy: EscalationPolicy | None = None,
) -> EscalationPolicy:
    """Create a policy, or replace an existing one's settings and levels.

    Running escalations keep their place: they read the levels as they are at each step.
    """
    require(actor, Action.MANAGE_ONCALL)
    name = name.strip()
    others = EscalationPolicy.objects.exclude(pk=policy.pk) if policy else EscalationPolicy.objects
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "A name is required."
    elif others.filter(name=name).exists():
        errors["name"] = f"There is already a policy called {name}."
    if not levels:
        errors["levels"] = "A policy needs at least one level."
    for number, wanted in enumerate(levels, start=1):
        if not (wanted.users or wanted.schedules or wanted.lead_teams):
            errors["levels"] = f"Level {number} pages nobody: add a person, schedule or team."
        if wanted.delay <= timedelta(0):
            errors["levels"] = f"Level {number} needs a time to acknowledge."
    if not 0 <= repeat <= 9:
        errors["repeat"] = "Repeat the policy 0 to 9 times."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if is_default:
            # Saved, not updated, so the audit trail records the former default losing its
            # flag; locked first, as the UPDATE this replaced locked it.
            for former in others.select_for_update(no_key=True).filter(is_default=True):
                former.is_default = False
                former.save(update_fields=["is_default"])
        if policy is None:
            policy = EscalationPolicy(name=name)
        policy.name = name
        policy.team = team
        policy.repeat = repeat
        policy.is_default = is_default
        policy.description = description
        policy.save()
        policy.levels.all().delete()
        for position, spec in enumerate(levels, start=1):
            level = EscalationLevel.objects.create(
                policy=policy, position=position, delay=spec.delay, management=spec.management
            )
            # One by one, not bulk_create(), which sends no signal: the audit trail records
            # each. A level pages a handful of people, schedules and teams.
            for user in spec.users:
                EscalationTarget.objects.create(level=level, kind=TargetKind.USER, user=user)
            for schedule in spec.schedules:
                EscalationTarget.objects.create(
                    level=level, kind=TargetKind.SCHEDULE, schedule=schedule
                )
            for lead_team in spec.lead_teams:
                EscalationTarget.objects.create(
                    level=level, kind=TargetKind.TEAM_LEADS, team=lead_team
                )
    logger.info("escalation policy %s saved by %s", policy.pk, actor.display_name)
    return policy


def policy_delete(*, actor: Actor, policy: EscalationPolicy) -> None:
    """Delete a policy nothing depends on. The default, a team's policy, one an integration
    routes to, and one that has paged incidents (their history names it) are kept: deleting
    them would quietly hand incidents to another policy, or lose history."""
    require(actor, Action.MANAGE_ONCALL)
    pk = policy.pk
    try:
        with transaction.atomic():
            # Re-read under its lock: it may have become the default meanwhile. A row that
            # would point at the policy (an integration routed to it, an escalation started)
            # checks its foreign key against this row at its commit, under a KEY SHARE lock:
            # so it either committed before this read, and the delete below finds it and
            # raises ProtectedError, or it waits for this transaction and then fails itself.
            locked = EscalationPolicy.objects.select_for_update().filter(pk=pk).first()
            if locked is None:
                # Deleted meanwhile (a second click, another manager): nothing left to do.
                return
            policy = locked
            if policy.is_default:
                raise ValidationError(
                    f"{policy.name} is the default policy: make another one the default first."
                )
            if policy.team_id is not None and selectors.team_policy(policy.team_id) == policy:
                raise ValidationError(
                    f"The incidents of team {policy.team} use {policy.name}: give the team "
                    "another policy first."
                )
            # Raises ProtectedError inside the transaction, which rolls back whole.
            policy.delete()
    except ProtectedError as error:
        raise ValidationError(_kept_because(policy, error.protected_objects)) from error
    logger.info("escalation policy %s (%s) deleted by %s", pk, policy.name, actor.display_name)


def _kept_because(policy: EscalationPolicy, protected: Iterable[Model]) -> str:
    """Why a policy that rows still point at is kept. Rows of the apps above oncall (an
    integration routing to it) are named by their model's verbose name, as oncall does not
    know those apps."""
    users = sorted(
        {f"{obj._meta.verbose_name} {obj}" for obj in protected if not isinstance(obj, Escalation)}
    )
    if users:
        return (
            f"{policy.name} is still used by {', '.join(users)}: choose another policy there first."
        )
    return (
        f"{policy.name} has paged incidents, whose history names it, so it is kept. "
        "Rename it, or change its levels, instead."
    )
