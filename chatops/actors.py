"""Who acts when someone clicks or types in Slack: the Tocsin user their Slack account is
linked to, and the words that tell them when it is not, or when a service refused. Answers
that have no response_url (a modal's submission) go to the person as a direct message."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from slack_sdk import WebClient

from accounts.models import User
from chatops import blocks
from chatops.models import SlackCall
from chatops.services import outbox, people

DM_KIND = "direct_message"


def link_url() -> str:
    """Where a person sees their Slack link (the profile page)."""
    return blocks.url_for("chatops:slack-profile")


def not_linked_text() -> str:
    return (
        "Your Slack account is not linked to a Tocsin account, so Tocsin cannot tell who you "
        "are. Type `/incident link` to link it, then try again."
    )


def linked_user(slack_user_id: str) -> User | None:
    """The active Tocsin user behind a Slack user id, if they linked their accounts."""
    return people.user_for_slack_id(slack_user_id)


def refusal_text(error: Exception) -> str:
    """A service's refusal (a conflict, a permission, a validation error) as a sentence,
    escaped: it may quote what the person typed."""
    if isinstance(error, ValidationError):
        return blocks.escape(" ".join(error.messages))
    return blocks.escape(str(error)) or "Tocsin refused that."


def dm_payload(slack_user_id: str, text: str) -> dict[str, Any]:
    """A direct message's outbox payload (`text` is mrkdwn, already escaped)."""
    return {"user": slack_user_id, "text": text}


def dm_add(slack_user_id: str, text: str, *, key: str, incident_id: int | None = None) -> None:
    outbox.call_add(
        kind=DM_KIND, key=key, incident_id=incident_id, payload=dm_payload(slack_user_id, text)
    )


def send_dm(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    opened = client.conversations_open(users=str(call.payload["user"]))
    channel = str((opened.get("channel") or {}).get("id", ""))
    posted = client.chat_postMessage(channel=channel, text=str(call.payload["text"]))
    return {"channel": channel, "ts": posted.get("ts")}


def connect() -> None:
    outbox.register_sender(DM_KIND, send_dm)
