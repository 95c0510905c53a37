"""Who may do what. Services call these checks; views only use them to hide buttons."""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.actors import SYSTEM, Actor
from accounts.models import User
from incidents.models import Incident


class Action(StrEnum):
    VIEW = "view"
    DECLARE = "declare"
    RESPOND = "respond"  # acknowledge, status, severity, roles, notes, updates, resolve, reopen
    EDIT = "edit"
    MERGE = "merge"
    MANAGE_CATALOG = "manage_catalog"  # teams, services, severities
    MANAGE_INTEGRATIONS = "manage_integrations"  # alert sources and their rules
    MANAGE_ONCALL = "manage_oncall"  # schedules, layers, escalation policies
    READ_AUDIT = "read_audit"  # the audit trail of configuration changes
    READ_REPORTS = "read_reports"  # the monthly report, its exports and its figures


AnyUser = User | AnonymousUser

MANAGERS_ONLY = frozenset(
    (
        Action.MANAGE_CATALOG,
        Action.MANAGE_INTEGRATIONS,
        Action.MANAGE_ONCALL,
        Action.READ_AUDIT,
        Action.READ_REPORTS,
    )
)


def is_participant(user: AnyUser, incident: Incident) -> bool:
    # Declaring and every role assignment add to participants, so this one relation is the
    # rule; selectors.incidents_visible_to applies the same one in SQL.
    if not user.is_authenticated:
        return False
    return incident.participants.filter(pk=user.pk).exists()


def can_view(user: AnyUser, incident: Incident) -> bool:
    if not isinstance(user, User) or not user.is_active:
        return False
    return user.is_admin or not incident.private or is_participant(user, incident)


def can(user: AnyUser, action: Action, incident: Incident | None = None) -> bool:
    if not isinstance(user, User) or not user.is_active:
        return False
    if action in MANAGERS_ONLY:
        return user.can_manage
    if incident is not None and not can_view(user, incident):
        return False
    if action == Action.VIEW:
        return True
    return user.can_respond


def can_change_visibility(user: AnyUser, incident: Incident) -> bool:
    """Making an incident private hides it from everyone who takes no part in it, and making
    it public shows its whole timeline: either is the commander's call, or a manager's or an
    admin's (among those who can see it), and either can be undone by the same people."""
    if not isinstance(user, User) or not can(user, Action.EDIT, incident):
        return False
    return user.can_manage or incident.commander_id == user.pk


# Refusals of what is not done to one incident; the others say "… this incident".
REFUSALS = {
    Action.DECLARE: "You may not declare incidents.",
    Action.MANAGE_CATALOG: "You may not change teams, services or severities.",
    Action.MANAGE_INTEGRATIONS: "You may not manage integrations.",
    Action.MANAGE_ONCALL: "You may not change schedules or escalation policies.",
    Action.READ_AUDIT: "Only managers and admins may read the audit trail.",
    Action.READ_REPORTS: "Only managers and admins may read the incident reports.",
}


def require(actor: Actor | AnonymousUser, action: Action, incident: Incident | None = None) -> None:
    """Raise PermissionDenied unless `actor` may do `action`; SYSTEM (Tocsin itself) may.

    `None` is a caller that lost its actor on the way, not the system: a TypeError.
    """
    if actor is SYSTEM:
        return
    if not isinstance(actor, User | AnonymousUser):
        raise TypeError(f"require() needs a user or accounts.actors.SYSTEM, not {actor!r}.")
    if not can(actor, action, incident):
        raise PermissionDenied(
            REFUSALS.get(action) or f"You may not {action.value.replace('_', ' ')} this incident."
        )
