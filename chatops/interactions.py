"""Who handles which button and which modal: a registry the feature modules fill in ready().

Slack posts every click (`block_actions`) and modal submission (`view_submission`) to
/slack/interactions. A handler registered `inline` runs in that request and must answer within
Slack's 3 seconds: opening a modal (the trigger id expires), or checking a submission so its
errors show on the form. Every other handler runs in a task, from the stored request, and
answers through the outbox (an ephemeral message, an edited message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatops.models import InboundRequest

# Action ids of the buttons Tocsin sends. The page DM's come from oncall, which sends them.
from oncall.notifiers.slack import ACK_ACTION_ID as PAGE_ACK
from oncall.notifiers.slack import OPEN_ACTION_ID as PAGE_OPEN

ANNOUNCEMENT_ACK = "announcement_ack"
ANNOUNCEMENT_RESOLVE = "announcement_resolve"
ANNOUNCEMENT_SEVERITY = "announcement_severity"
ANNOUNCEMENT_JOIN = "announcement_join"
REMINDER_POST_UPDATE = "reminder_post_update"
REMINDER_SNOOZE = "reminder_snooze"
# Link buttons: Slack opens the URL and still tells us of the click; nothing to do.
LINK_ACTIONS = frozenset({PAGE_OPEN, "incident_link"})

__all__ = [
    "ANNOUNCEMENT_ACK",
    "ANNOUNCEMENT_JOIN",
    "ANNOUNCEMENT_RESOLVE",
    "ANNOUNCEMENT_SEVERITY",
    "LINK_ACTIONS",
    "PAGE_ACK",
    "PAGE_OPEN",
    "REMINDER_POST_UPDATE",
    "REMINDER_SNOOZE",
]


@dataclass(frozen=True)
class Interaction:
    """One click or submission, as the handler needs it."""

    payload: dict[str, Any]  # what Slack sent, parsed

    @property
    def type(self) -> str:
        return str(self.payload.get("type", ""))

    @property
    def slack_user_id(self) -> str:
        return str((self.payload.get("user") or {}).get("id", ""))

    @property
    def trigger_id(self) -> str:
        return str(self.payload.get("trigger_id", ""))

    @property
    def response_url(self) -> str:
        return str(self.payload.get("response_url", ""))

    @property
    def channel_id(self) -> str:
        return str((self.payload.get("channel") or {}).get("id", ""))

    @property
    def message_ts(self) -> str:
        message = self.payload.get("message") or {}
        container = self.payload.get("container") or {}
        return str(message.get("ts") or container.get("message_ts") or "")

    @property
    def actions(self) -> list[dict[str, Any]]:
        return list(self.payload.get("actions") or [])

    @property
    def view(self) -> dict[str, Any]:
        return dict(self.payload.get("view") or {})


# An inline handler returns the HTTP answer's JSON (None: an empty 200); a task handler's
# return value is ignored.
Handler = Callable[[Interaction, dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class Registered:
    handler: Handler
    inline: bool


_actions: dict[str, Registered] = {}
_views: dict[str, Registered] = {}


def register_action(action_id: str, handler: Handler, *, inline: bool = False) -> None:
    """`handler(interaction, action)`: action is the clicked element from `actions`."""
    _actions[action_id] = Registered(handler, inline)


def register_view(callback_id: str, handler: Handler, *, inline: bool = True) -> None:
    """`handler(interaction, view)` for a submitted modal of this callback id.

    Inline by default: a submission's errors must be answered in the request
    (`{"response_action": "errors", "errors": {block_id: message}}`).
    """
    _views[callback_id] = Registered(handler, inline)


def action_handler(action_id: str) -> Registered | None:
    return _actions.get(action_id)


def view_handler(callback_id: str) -> Registered | None:
    return _views.get(callback_id)


def process_interaction(inbound: InboundRequest) -> None:
    """The task side: run the handler of a stored click or submission."""
    interaction = Interaction(inbound.payload["interaction"])
    action = inbound.payload.get("action")
    if action is not None:
        registered = action_handler(str(action.get("action_id", "")))
        if registered is not None:
            registered.handler(interaction, action)
        return
    view = interaction.view
    registered = view_handler(str(view.get("callback_id", "")))
    if registered is not None:
        registered.handler(interaction, view)
