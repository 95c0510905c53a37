"""Who made a change: the person behind the request, else Tocsin itself.

An entry without an actor is Tocsin's (accounts.actors.SYSTEM): a task, the paging engine, a
management command. django-auditlog's own middleware reads request.user as the request comes in,
before DRF has authenticated an API token (it does that in the view), so every API change would
be Tocsin's; this middleware keeps the request instead, and each entry reads its user as it is
written. A command that acts for a person says so with auditlog.context.set_actor(person).
"""

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from auditlog.models import LogEntry
from django.http import HttpRequest, HttpResponse

from accounts.actors import SYSTEM
from accounts.models import User

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def name_actor(sender: type[LogEntry], instance: LogEntry, **kwargs: Any) -> None:
    """pre_save of LogEntry: an entry written during a request names its signed-in user."""
    if instance.actor_id is not None:
        return
    request = _request.get()
    # DRF puts the user of a token on the Django request once it has authenticated it.
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated:
        instance.actor_id = user.pk
        instance.actor_email = user.email


def actor_name(entry: LogEntry) -> str:
    """Who made the change, as the page and the API show it."""
    if entry.actor is not None:
        name: str = entry.actor.display_name
        return name
    if entry.actor_email is not None:
        # A person, deleted since: the entry keeps the address they had (perhaps none).
        return f"A deleted person {entry.actor_email}".rstrip()
    return SYSTEM.display_name
