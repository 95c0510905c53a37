"""Connecting Tocsin to a Slack workspace: the app manifest, and whether the connection works.

REQUIRED_SCOPES is the one list of what the bot token must be granted: the manifest asks for
it and the check compares the granted scopes with it, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from chatops.client import failure_from, slack_client, slack_configured
from chatops.models import CallState, SlackCall, SlackUserLink, TeamChannel
from incidents.models import Team

logger = logging.getLogger(__name__)

# Bot token scopes, each with the Web API methods or events that need it.
REQUIRED_SCOPES: dict[str, str] = {
    "commands": "the /incident slash command (and views.open for its modals)",
    "chat:write": "chat.postMessage, chat.update: announcements, notices, reminders",
    "chat:write.public": "posting in the announcements and team channels without joining",
    "channels:manage": "conversations.create, invite, setTopic, archive of public channels",
    "groups:write": "the same for private incidents' private channels",
    "channels:read": "conversations.info; member_joined_channel in public channels",
    "groups:read": "conversations.info; member_joined_channel in private channels",
    "channels:history": "the text of a pinned message in a public channel",
    "groups:history": "the text of a pinned message in a private channel",
    "channels:join": "conversations.join of a team's channel",
    "pins:read": "pin_added, pin_removed events",
    "reactions:read": "reaction_added, reaction_removed events (the pushpin)",
    "bookmarks:write": "bookmarks.add: the incident's web page in its channel",
    "users:read": "users.info: names of Slack users",
    "users:read.email": "users.lookupByEmail: linking Slack users to Tocsin users",
    "im:write": "conversations.open: direct messages (pages, reminders)",
}

BOT_EVENTS = (
    "pin_added",
    "pin_removed",
    "reaction_added",
    "reaction_removed",
    "member_joined_channel",
)

COMMAND = "/incident"
COMMAND_USAGE_HINT = "declare [title] | ack | status <status> | update <text> | resolve | help"


class BadBaseUrl(ValueError):
    """The address given for Tocsin is not one Slack can post to."""


def base_url_clean(raw: str) -> str:
    """Tocsin's public address as Slack must call it: https://host[:port][/prefix], no slash at
    the end. Slack only posts to https, and a query or fragment would end up in every URL."""
    value = raw.strip()
    parts = urlsplit(value)
    if parts.scheme != "https":
        raise BadBaseUrl(f"{raw!r}: Slack only sends requests to https:// addresses.")
    if not parts.hostname:
        raise BadBaseUrl(f"{raw!r}: give the host name, e.g. https://tocsin.example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BadBaseUrl(
            f"{raw!r}: give the address alone, without a query, fragment or credentials."
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        raise BadBaseUrl(f"{raw!r}: {error}.") from error
    if parts.path.rstrip("/").endswith("/slack") or "/slack/" in parts.path:
        raise BadBaseUrl(
            f"{raw!r}: give Tocsin's address, not a Slack endpoint; "
            "the /slack/... paths are added for you."
        )
    return f"https://{parts.netloc}{parts.path.rstrip('/')}"


def manifest(*, base_url: str, name: str = "Tocsin") -> dict[str, Any]:
    """The Slack app manifest for a Tocsin at `base_url` (already cleaned)."""
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Incidents: declare, respond and keep the timeline from Slack.",
            "background_color": "#b91c1c",
        },
        "features": {
            "bot_user": {"display_name": name.lower(), "always_online": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    "url": f"{base_url}/slack/commands",
                    "description": "Declare and run incidents",
                    "usage_hint": COMMAND_USAGE_HINT,
                    # Slack turns @mentions into <@U…|name>, which is all the parser trusts.
                    "should_escape": True,
                }
            ],
        },
        "oauth_config": {"scopes": {"bot": list(REQUIRED_SCOPES)}},
        "settings": {
            "event_subscriptions": {
                "request_url": f"{base_url}/slack/events",
                "bot_events": list(BOT_EVENTS),
            },
            "interactivity": {"is_enabled": True, "request_url": f"{base_url}/slack/interactions"},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(*, base_url: str) -> str:
    return yaml.safe_dump(manifest(base_url=base_url), sort_keys=False, allow_unicode=True)


@dataclasses.dataclass(frozen=True)
class ConnectionCheck:
    """What Slack said of our token when asked (auth.test)."""

    checked_at: datetime
    connected: bool  # a token is set
    ok: bool = False  # the token works and has every required scope
    error: str = ""  # Slack's error ("invalid_auth"), or "unreachable"
    team: str = ""
    team_url: str = ""
    bot_user: str = ""
    bot_user_id: str = ""
    granted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        data["granted"] = list(self.granted)
        data["missing"] = list(self.missing)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionCheck:
        return cls(
            **{
                **data,
                "checked_at": datetime.fromisoformat(data["checked_at"]),
                "granted": tuple(data.get("granted", ())),
                "missing": tuple(data.get("missing", ())),
            }
        )


def connection_check(*, client: WebClient | None = None, timeout: float = 5.0) -> ConnectionCheck:
    """Ask Slack who our token is and which scopes it holds. Talks to Slack: call it from a
    task or a management command, never from a request."""
    now = timezone.now()
    if not slack_configured():
        return ConnectionCheck(checked_at=now, connected=False)
    client = client or slack_client(timeout=timeout)
    try:
        response = client.auth_test()
    except (SlackApiError, SlackClientError, OSError) as error:
        return ConnectionCheck(checked_at=now, connected=True, error=failure_from(error).code)
    granted = _granted_scopes(response.headers)
    missing = tuple(scope for scope in REQUIRED_SCOPES if scope not in granted)
    return ConnectionCheck(
        checked_at=now,
        connected=True,
        ok=not missing,
        team=str(response.get("team", "")),
        team_url=str(response.get("url", "")),
        bot_user=str(response.get("user", "")),
        bot_user_id=str(response.get("user_id", "")),
        granted=tuple(sorted(granted)),
        missing=missing,
    )


def _granted_scopes(headers: dict[str, Any]) -> set[str]:
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) else str(value)
            return {scope.strip() for scope in raw.split(",") if scope.strip()}
    return set()


# The last check, for the admin page. A cache entry: losing it only means checking again.
CHECK_CACHE_KEY = "chatops:connection-check"
CHECK_ASKED_CACHE_KEY = "chatops:connection-check-asked"
CHECK_KEPT_FOR = 7 * 24 * 3600


def connection_check_run() -> ConnectionCheck:
    """Check the connection and keep the answer for the admin page."""
    check = connection_check()
    cache.set(CHECK_CACHE_KEY, check.as_dict(), CHECK_KEPT_FOR)
    return check


def connection_check_ask() -> None:
    """Note that an admin asked for a check, so the page says one is under way."""
    cache.set(CHECK_ASKED_CACHE_KEY, timezone.now().isoformat(), CHECK_KEPT_FOR)


def connection_check_asked() -> datetime | None:
    raw = cache.get(CHECK_ASKED_CACHE_KEY)
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def connection_check_last() -> ConnectionCheck | None:
    data = cache.get(CHECK_CACHE_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return ConnectionCheck.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class OutboxFailure:
    kind: str
    key: str
    error: str
    at: datetime


@dataclasses.dataclass(frozen=True)
class SlackStatus:
    """What the admin page shows besides the connection check: read from our own rows."""

    configured: bool
    signing_secret_set: bool
    announcements_channel: str
    outbox_depth: int
    failures: list[OutboxFailure]
    linked_users: int


def slack_status(*, failures: int = 10) -> SlackStatus:
    waiting = (CallState.PENDING, CallState.QUEUED, CallState.SENDING)
    recent = (
        SlackCall.objects.filter(Q(state=CallState.FAILED) | Q(state__in=waiting, failures__gt=0))
        .exclude(last_error="")
        .order_by("-due_at")
        .values_list("kind", "key", "last_error", "due_at")[:failures]
    )
    return SlackStatus(
        configured=slack_configured(),
        signing_secret_set=bool(settings.SLACK_SIGNING_SECRET),
        announcements_channel=settings.SLACK_ANNOUNCEMENTS_CHANNEL,
        outbox_depth=SlackCall.objects.filter(state__in=waiting).count(),
        failures=[OutboxFailure(kind, key, error, at) for kind, key, error, at in recent],
        linked_users=SlackUserLink.objects.count(),
    )


@dataclasses.dataclass(frozen=True)
class TeamChannelRow:
    """A team and the channel that hears of its SEV3s (None when it has none)."""

    team: Team
    channel: TeamChannel | None


def team_channels() -> list[TeamChannelRow]:
    """Every team with its channel, by team name, for the admin page."""
    channels = {channel.team_id: channel for channel in TeamChannel.objects.all()}
    return [
        TeamChannelRow(team=team, channel=channels.get(team.pk))
        for team in Team.objects.order_by("name")
    ]
