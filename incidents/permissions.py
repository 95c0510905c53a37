"""Who may do what. Services call these checks; views only use them to hide buttons."""

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

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


AnyUser = User | AnonymousUser


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
    if action in (Action.MANAGE_CATALOG, Action.MANAGE_INTEGRATIONS, Action.MANAGE_ONCALL):
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


def require(user: AnyUser | None, action: Action, incident: Incident | None = None) -> None:
    """Raise PermissionDenied unless `user` may do `action`. `None` is the system itself."""
    if user is None:
        return
    if not can(user, action, incident):
        raise PermissionDenied(f"You may not {action.value.replace('_', ' ')} this incident.")
