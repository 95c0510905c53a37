"""What Slack sends us, built and signed as Slack builds and signs it.

Each builder returns a SlackRequest (body, content_type), so a test can write
`post_signed(client, "/slack/commands", *slash_command("declare sev1 x", user_id=…, channel_id=…),
secret=slack_signing_secret)`.

Signature: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}" keyed with the signing secret,
in X-Slack-Signature, with the timestamp in X-Slack-Request-Timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

TEAM_ID = "T0TEST0001"
TEAM_DOMAIN = "acme"
API_APP_ID = "A0TEST0001"
BOT_USER_ID = "U0TOCSINBOT"  # the SlackStub's bot user
VERIFICATION_TOKEN = "deprecated-verification-token"  # Slack still sends one

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


# Pass as timestamp= or signature= to post_signed to leave that header out.
OMIT: Any = _Omit()


class SlackRequest(NamedTuple):
    body: str
    content_type: str

    @property
    def fields(self) -> dict[str, str]:
        """The form fields (slash commands, interactivity)."""
        return dict(parse_qsl(self.body, keep_blank_values=True))

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON document: the interactivity `payload=` field, or an Events API body."""
        raw = self.fields["payload"] if self.content_type == FORM else self.body
        document: dict[str, Any] = json.loads(raw)
        return document


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_signed(
    client: Any,
    path: str,
    body: str | bytes,
    content_type: str,
    *,
    secret: str,
    timestamp: Any = None,
    signature: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST through Django's test client as Slack would.

    timestamp: None = now; an int (e.g. `int(time.time()) - 600` for a stale, correctly signed
    request); OMIT to leave the header out. signature: None = correct for body and timestamp;
    a string to forge; OMIT to leave the header out. Use a different `secret` to sign wrongly.
    headers: extra headers, e.g. {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}.
    """
    if timestamp is None:
        timestamp = int(time.time())
    sent: dict[str, str] = {}
    if timestamp is not OMIT:
        sent["X-Slack-Request-Timestamp"] = str(timestamp)
    if signature is None:
        signature = sign(secret, "" if timestamp is OMIT else timestamp, body)
    if signature is not OMIT:
        sent["X-Slack-Signature"] = signature
    sent["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
    sent.update(headers or {})
    return client.post(path, data=body, content_type=content_type, headers=sent)


def new_trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _default_response_url() -> str:
    # .invalid never resolves: a test that forgets to point it at the stub fails loudly.
    return f"https://hooks.slack.invalid/commands/{TEAM_ID}/1/{secrets.token_hex(8)}"


def slash_command(
    text: str,
    *,
    user_id: str,
    channel_id: str,
    channel_name: str = "incidents",
    user_name: str | None = None,
    command: str = "/incident",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
) -> SlackRequest:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name if user_name is not None else user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or _default_response_url(),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return SlackRequest(urlencode(fields), FORM)


def _user(user_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def _team() -> dict[str, str]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def _interactivity(payload: dict[str, Any]) -> SlackRequest:
    return SlackRequest(urlencode({"payload": json.dumps(payload)}), FORM)


def block_action(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str | None = None,
    message_ts: str | None = None,
    trigger_id: str | None = None,
    view: dict[str, Any] | None = None,
    block_id: str = "actions",
    response_url: str | None = None,
    message: dict[str, Any] | None = None,
) -> SlackRequest:
    """A button click (`block_actions`) on a message (channel_id, message_ts) or in a modal
    (view)."""
    action_ts = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "")}
        payload["view"] = view
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "channel"}
        payload["message"] = message or {
            "type": "message",
            "user": BOT_USER_ID,
            "ts": message_ts,
            "text": "",
        }
        payload["response_url"] = response_url or _default_response_url()
    return _interactivity(payload)


def plain_input(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def selected_option(value: str, text: str | None = None) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def selected_user(user_id: str) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def view_submission(
    callback_id: str,
    values: dict[str, dict[str, str | dict[str, Any]]],
    *,
    user_id: str,
    private_metadata: str = "",
    view_id: str | None = None,
    trigger_id: str | None = None,
) -> SlackRequest:
    """A modal submitted. values: {block_id: {action_id: element state}}, Slack's
    view.state.values; a plain string stands for a plain_text_input's value."""
    state = {
        block_id: {
            action_id: plain_input(element) if isinstance(element, str) else element
            for action_id, element in actions.items()
        }
        for block_id, actions in values.items()
    }
    view_id = view_id or "V0" + secrets.token_hex(4).upper()
    payload = {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "Tocsin"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": API_APP_ID,
            "external_id": "",
            "bot_id": "B0TOCSIN",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactivity(payload)


def event_callback(
    event: dict[str, Any], *, event_id: str | None = None, event_time: int | None = None
) -> SlackRequest:
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_hex(16),
    }
    return SlackRequest(json.dumps(envelope), JSON)


def url_verification(challenge: str) -> SlackRequest:
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return SlackRequest(json.dumps(body), JSON)


def _event_ts() -> str:
    return f"{time.time():.6f}"


# --- events (the `event` inside event_callback) -----------------------------------------------


def pin_added(
    *, channel_id: str, user_id: str, message_ts: str, message_user: str, text: str
) -> dict[str, Any]:
    """user_id pinned the message (message_ts, by message_user, saying text)."""
    return _pin("pin_added", channel_id, user_id, message_ts, message_user, text)


def pin_removed(
    *, channel_id: str, user_id: str, message_ts: str, message_user: str, text: str
) -> dict[str, Any]:
    event = _pin("pin_removed", channel_id, user_id, message_ts, message_user, text)
    event["has_pins"] = False
    return event


def _pin(
    kind: str, channel_id: str, user_id: str, message_ts: str, message_user: str, text: str
) -> dict[str, Any]:
    now = int(time.time())
    message = {
        "type": "message",
        "user": message_user,
        "text": text,
        "ts": message_ts,
        "team": TEAM_ID,
        "permalink": (
            f"https://{TEAM_DOMAIN}.slack.com/archives/{channel_id}/p{message_ts.replace('.', '')}"
        ),
        "pinned_to": [channel_id] if kind == "pin_added" else [],
    }
    return {
        "type": kind,
        "user": user_id,
        "channel_id": channel_id,
        "item": {
            "type": "message",
            "created": now,
            "created_by": user_id,
            "channel": channel_id,
            "message": message,
        },
        "item_user": message_user,
        "pin_count": 1 if kind == "pin_added" else 0,
        "pinned_info": {"channel": channel_id, "pinned_by": user_id, "pinned_ts": now},
        "event_ts": _event_ts(),
    }


def reaction_added(
    *,
    channel_id: str,
    user_id: str,
    message_ts: str,
    reaction: str = "pushpin",
    item_user: str = "",
) -> dict[str, Any]:
    return _reaction("reaction_added", channel_id, user_id, message_ts, reaction, item_user)


def reaction_removed(
    *,
    channel_id: str,
    user_id: str,
    message_ts: str,
    reaction: str = "pushpin",
    item_user: str = "",
) -> dict[str, Any]:
    return _reaction("reaction_removed", channel_id, user_id, message_ts, reaction, item_user)


def _reaction(
    kind: str, channel_id: str, user_id: str, message_ts: str, reaction: str, item_user: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "user": user_id,
        "reaction": reaction,
        "item_user": item_user or user_id,
        "item": {"type": "message", "channel": channel_id, "ts": message_ts},
        "event_ts": _event_ts(),
    }


def member_joined_channel(
    *, channel_id: str, user_id: str, inviter: str | None = None
) -> dict[str, Any]:
    event = {
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel_id,
        "channel_type": "C",
        "team": TEAM_ID,
        "event_ts": _event_ts(),
    }
    if inviter:
        event["inviter"] = inviter
    return event


def app_mention(
    *, channel_id: str, user_id: str, text: str, ts: str | None = None
) -> dict[str, Any]:
    ts = ts or _event_ts()
    return {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel_id,
        "team": TEAM_ID,
        "event_ts": ts,
    }
