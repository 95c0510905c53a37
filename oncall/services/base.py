"""What every on-call service shares: the engine's clock and the permission checks."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.actors import Actor, SystemActor
from accounts.models import User
from incidents.models import Incident
from incidents.permissions import Action, require


def clock() -> datetime:
    """The engine's one clock; tests pass `now` explicitly instead of sleeping."""
    return timezone.now()


def require_actor(actor: Actor, action: Action, incident: Incident | None = None) -> None:
    """incidents.permissions.require for an `Actor`: SYSTEM may do anything, a person what
    their role allows, and anything else (a `None` that slipped through a view) is an error.

    TEMPORARY: the lead calls incidents.permissions.require directly once it takes an Actor
    (h/layers)."""
    if isinstance(actor, SystemActor):
        return
    if not isinstance(actor, User):
        raise TypeError(f"actor must be a User or SYSTEM, not {actor!r}")
    require(actor, action, incident)


def require_owner(actor: Actor, *, owner_id: int | None, managers_too: bool = False) -> None:
    """People change their own contact methods, notification rules and overrides. Admins may
    change anyone's, and, for overrides (`managers_too`), so may managers, who run the
    schedules; the system acts for everyone."""
    if isinstance(actor, SystemActor):
        return
    if not isinstance(actor, User):
        raise TypeError(f"actor must be a User or SYSTEM, not {actor!r}")
    if actor.pk == owner_id or actor.is_admin or (managers_too and actor.can_manage):
        return
    raise PermissionDenied(
        "You may only change your own contact methods, notification rules and overrides."
    )
