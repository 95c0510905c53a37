"""Answers sent through a command's or a click's `response_url`, as outbox rows.

Slack gives each slash command and each button click a `response_url` that takes up to five
answers within 30 minutes: an ephemeral message, or (for a click) a replacement of the message
the button was in. Posting to it is an outbound call like any other, so it is an outbox row
(kind "response") sent by a task, retried when Slack is slow and dropped when the URL expired.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from chatops.client import SlackFailure
from chatops.models import SlackCall
from chatops.services import outbox
from oncall.notifiers.base import parse_retry_after

KIND = "response"

# Slack's own response URLs; the API base (the local stub in tests and development) also counts.
SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com"})


def respond(
    response_url: str,
    message: dict[str, Any],
    *,
    key: str,
    incident_id: int | None = None,
) -> None:
    """Post `message` to `response_url` once per `key`, from a task.

    `message` is what Slack takes there: `text`, `blocks`, `response_type` ("ephemeral" or
    "in_channel"), `replace_original`, `delete_original`.
    """
    outbox.call_add(
        kind=KIND,
        key=f"response:{key}",
        incident_id=incident_id,
        payload={"response_url": response_url, "message": message},
    )


def response_url_allowed(url: str) -> bool:
    """Whether `url` is a Slack response URL, so a payload cannot make us post anywhere."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname in SLACK_RESPONSE_HOSTS:
        return True
    api = urlsplit(settings.SLACK_API_URL)
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)


def send_response(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    url = str(call.payload.get("response_url", ""))
    if not response_url_allowed(url):
        raise outbox.Cancel(f"not a Slack response URL: {url[:200]!r}")
    webhook = WebhookClient(
        url,
        timeout=settings.SLACK_TIMEOUT,  # type: ignore[arg-type]
        retry_handlers=[],
    )
    response = webhook.send_dict(call.payload.get("message", {}))
    if response.status_code == 200:
        return None
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        raise SlackFailure("ratelimited", retry_after=parse_retry_after(retry_after))
    if response.status_code >= 500:
        raise SlackFailure(f"http_{response.status_code}", response.body[:300])
    # 404 expired_url / used_url, 400 invalid_payload: sending again will not help.
    raise SlackFailure(str(response.body or response.status_code)[:100], permanent=True)


def connect() -> None:
    outbox.register_sender(KIND, send_response)
