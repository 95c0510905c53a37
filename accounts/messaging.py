"""Direct messages to a person through the chat tools other apps connect (Slack today).

An app that can reach people registers a messenger in its AppConfig.ready(); an app that wants
to tell someone something (an action-item reminder) calls `direct_message` without knowing
which tools are connected. Both sides sit above accounts, so neither imports the other.

A messenger records its own outbox row and returns at once: it never calls out from the
caller's transaction. `key` names the message, so calling twice with one key sends it once.
"""

from collections.abc import Callable

from accounts.models import User

# (user, text, key) -> whether the messenger took the message (False: it cannot reach them).
Messenger = Callable[[User, str, str], bool]

_messengers: dict[str, Messenger] = {}


def register_messenger(name: str, messenger: Messenger) -> None:
    """Registering a name again replaces it (ready() may rerun)."""
    _messengers[name] = messenger


def direct_message(*, user: User, text: str, key: str) -> list[str]:
    """Hand `text` to every connected messenger that can reach `user`; the names of those that
    took it."""
    return [name for name, messenger in _messengers.items() if messenger(user, text, key)]
