"""Slack's messenger for accounts.messaging: other apps' direct messages to a person (an
action-item reminder) reach them as a Slack DM, when Slack is connected and their accounts
are linked. Registered in ChatopsConfig.ready()."""

from __future__ import annotations

from accounts.models import User
from chatops import actors, blocks
from chatops.client import slack_configured
from chatops.services.people import slack_id_for_user

NAME = "slack"


def slack_direct_message(user: User, text: str, key: str) -> bool:
    """Add the DM to the outbox (sent once per `key`, after the caller commits); False when
    Slack cannot reach `user`. `text` is plain text: escaped here, so a title holding
    `<!channel>` pings nobody."""
    if not slack_configured() or not user.is_active:
        return False
    slack_user_id = slack_id_for_user(user)
    if slack_user_id is None:
        return False
    actors.dm_add(slack_user_id, blocks.escape(text), key=f"dm:{key}")
    return True
