"""The one way Tocsin talks to Slack's Web API: slack-sdk's WebClient at SLACK_API_URL.

No retry handlers here: a call that fails goes back to the outbox (chatops.services.outbox),
which waits as Slack asks (429 Retry-After) or backs off, without holding a worker asleep.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from oncall.notifiers.slack import TOKEN_ERRORS, slack_retry_after


def slack_configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN)


def slack_client(*, timeout: float | None = None) -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        # slack-sdk annotates int but hands the value to urlopen, which takes float seconds.
        timeout=timeout or settings.SLACK_TIMEOUT,  # type: ignore[arg-type]
        retry_handlers=[],
    )


class SlackFailure(Exception):
    """A Slack call that did not do what we asked, classified for the outbox."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code)
        # Slack's error ("channel_not_found"), "http_503", or "unreachable".
        self.code = code
        self.detail = detail
        # Retrying will not help (a bad channel, a revoked token): the row fails for good.
        self.permanent = permanent
        # Slack asked us to wait this many seconds (429 Retry-After).
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code

    @property
    def rate_limited(self) -> bool:
        return self.code == "ratelimited"

    @property
    def misconfigured(self) -> bool:
        """Slack refused our token or its scopes: ours to fix, not the call's fault."""
        return self.code in TOKEN_ERRORS or self.code == "account_inactive"


def failure_from(error: SlackApiError | SlackClientError | OSError) -> SlackFailure:
    """What a slack-sdk exception means for whoever retries the call."""
    if not isinstance(error, SlackApiError):
        # Timeouts, refused connections, resets (urllib's URLError is an OSError).
        return SlackFailure("unreachable", repr(error)[:300])
    response = error.response
    data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
    if response.status_code == 429 or data.get("error") == "ratelimited":
        return SlackFailure("ratelimited", retry_after=slack_retry_after(response.headers))
    if response.status_code >= 500:
        return SlackFailure(f"http_{response.status_code}")
    code = str(data.get("error") or f"http_{response.status_code}")
    return SlackFailure(code, permanent=code in PERMANENT_ERRORS)


# Errors that say this call will fail however often it is retried. Not the token errors: a
# revoked or mistyped token fails every call until an admin fixes it, and then the outbox
# should catch up rather than have dropped everything in between (as for paging providers).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "users_not_found",
        "message_not_found",
        "cant_update_message",
        "invalid_blocks",
        "invalid_name_specials",
        "invalid_name_maxlength",
        "invalid_name_required",
        "invalid_arguments",
        "too_long",
        "msg_too_long",
        "no_text",
        "restricted_action",
    }
)
