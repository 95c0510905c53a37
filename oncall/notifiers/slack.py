"""Slack DM pages through slack-sdk's WebClient at SLACK_API_URL."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from oncall.models import ContactKind
from oncall.notifiers.base import Notifier, NotifierError, Page, parse_retry_after

ACK_ACTION_ID = "incident_ack"
OPEN_ACTION_ID = "incident_open"
# Block Kit caps a section's text at 3,000 characters.
_SECTION_MAX_CHARS = 3000
# A rate limit this short is waited out in place; a longer one goes back to the engine with
# retry_after, so a worker is not held asleep while other pages wait.
_INLINE_RATE_LIMIT_MAX_WAIT = 2

# Errors that say our bot token will keep failing, whoever we write to.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
    }
)
# Errors that say this user, or our token, will keep failing however often we retry.
PERMANENT_ERRORS = (
    frozenset(
        {
            "user_not_found",
            "account_inactive",
            "user_disabled",
            "cannot_dm_bot",
            "channel_not_found",
        }
    )
    | TOKEN_ERRORS
)

_PARTIAL_ENTITY = re.compile(r"&[a-z]*$")


class SlackNotifier(Notifier):
    method = ContactKind.SLACK

    def notify(self, page: Page) -> str:
        if not settings.SLACK_BOT_TOKEN:
            raise NotifierError(
                "Slack is not configured: set SLACK_BOT_TOKEN", permanent=True, misconfigured=True
            )
        client = slack_client()
        try:
            opened = client.conversations_open(users=page.address)
            posted = client.chat_postMessage(
                channel=opened["channel"]["id"],
                text=page.subject,  # the notification preview; blocks carry the rest
                blocks=page_blocks(page),
                unfurl_links=False,
            )
        except SlackApiError as error:
            raise _api_error(error) from error
        except (SlackClientError, OSError) as error:
            # Timeouts, refused connections, resets (urllib's URLError is an OSError).
            raise NotifierError(f"Slack unreachable: {error!r}", permanent=False) from error
        return str(posted["ts"])


def slack_client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        # slack-sdk annotates int but hands the value to urlopen, which takes float seconds.
        timeout=settings.NOTIFIER_TIMEOUT,  # type: ignore[arg-type]
        retry_handlers=[
            # One quick retry rides over a dropped keep-alive connection; the engine's own
            # retries handle anything longer.
            ConnectionErrorRetryHandler(
                max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.25)
            ),
            _ShortRateLimitRetryHandler(max_retry_count=1),
        ],
    )


def page_blocks(page: Page) -> list[dict[str, Any]]:
    """Block Kit for a page: what happened, an Acknowledge button and a link to the incident."""
    text = f"*{_escape(page.subject)}*"
    if page.text.strip():
        text += f"\n{_escape(page.text.strip())}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_MAX_CHARS)}}
    ]
    buttons: list[dict[str, Any]] = []
    # Test and verification messages have no ack link: there is nothing to acknowledge.
    if page.ack_url:
        buttons.append(
            {
                "type": "button",
                "action_id": ACK_ACTION_ID,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "value": str(page.notification_id),
            }
        )
    if page.incident_url:
        buttons.append(
            {
                "type": "button",
                "action_id": OPEN_ACTION_ID,
                "text": {"type": "plain_text", "text": "Open incident"},
                "url": page.incident_url,
            }
        )
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


class _ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's rate-limit retry, only when Slack asks for a short, numeric wait."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = slack_retry_after(response.headers)
        return wait is not None and wait <= _INLINE_RATE_LIMIT_MAX_WAIT


def _api_error(error: SlackApiError) -> NotifierError:
    response = error.response
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or f"HTTP {response.status_code}")
    if response.status_code == 429 or code == "ratelimited":
        return NotifierError(
            "Slack rate limit",
            permanent=False,
            retry_after=slack_retry_after(response.headers),
        )
    return NotifierError(
        f"Slack error: {code}",
        permanent=code in PERMANENT_ERRORS,
        misconfigured=code in TOKEN_ERRORS,
    )


def slack_retry_after(headers: dict[str, Any]) -> float | None:
    """Seconds Slack asked us to wait, from a 429's Retry-After header."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            # Retry handlers see header values as lists, SlackResponse as strings.
            return parse_retry_after(value[0] if isinstance(value, list) else str(value))
    return None


def _escape(text: str) -> str:
    # Slack's mrkdwn reads these three as markup; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    # Never leave half an entity ("&am…") behind; Slack would show it raw.
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"
