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


def _person(actor: Actor) -> User | None:
    """The person acting, or None for SYSTEM. Anything else (a `None` that slipped through a
    view) is an error, never the system."""
    if isinstance(actor, SystemActor):
        return None
    if not isinstance(actor, User):
        raise TypeError(f"actor must be a User or SYSTEM, not {actor!r}")
    return actor


def require_actor(actor: Actor, action: Action, incident: Incident | None = None) -> None:
    """incidents.permissions.require for an `Actor`: SYSTEM may do anything, a person what
    their role allows.

    TEMPORARY: the lead calls incidents.permissions.require directly once it takes an Actor
    (h/layers)."""
    person = _person(actor)
    if person is not None:
        require(person, action, incident)


def require_owner(actor: Actor, *, owner_id: int | None, managers_too: bool = False) -> None:
    """People change their own contact methods, notification rules and overrides. Admins may
    change anyone's, and, for overrides (`managers_too`), so may managers, who run the
    schedules; the system acts for everyone."""
    person = _person(actor)
    if person is None or person.pk == owner_id or person.is_admin:
        return
    if managers_too and person.can_manage:
        return
    raise PermissionDenied(
        "You may only change your own contact methods, notification rules and overrides."
    )
