"""Who makes a change: a person, or Tocsin itself.

Alert ingestion, timers, tasks and management commands act as `SYSTEM`. It is a value of its
own rather than `None`, so a view that forgot to pass its user fails loudly instead of being
let through every permission check.
"""

from typing import Final

from accounts.models import User


class SystemActor:
    """Tocsin itself; one instance, `SYSTEM`."""

    display_name: Final = "Tocsin"
    pk: Final = None

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = SystemActor()

Actor = User | SystemActor


def actor_user(actor: Actor) -> User | None:
    """Who to store in a "done by" foreign key: the user, or NULL for SYSTEM.

    Anything else (a `None` that slipped through a view) is an error, never the system.
    """
    if isinstance(actor, SystemActor):
        return None
    if not isinstance(actor, User):
        raise TypeError(f"actor must be a User or accounts.actors.SYSTEM, not {actor!r}.")
    return actor
