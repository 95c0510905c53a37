"""What every on-call service shares: the engine's clock and the permission checks."""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.actors import Actor, actor_user


def clock() -> datetime:
    """The engine's one clock; tests pass `now` explicitly instead of sleeping."""
    return timezone.now()


def require_owner(actor: Actor, *, owner_id: int | None) -> None:
    """People change their own contact methods and notification rules. Admins may change
    anyone's; the system acts for everyone."""
    person = actor_user(actor)
    if person is None or person.pk == owner_id or person.is_admin:
        return
    raise PermissionDenied("You may only change your own contact methods and notification rules.")
