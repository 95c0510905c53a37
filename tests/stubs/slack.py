"""A local server speaking Slack's Web API as slack-sdk calls it: POST /api/<method>.

Methods are a route table (method name -> handler); later features add theirs with add_route().
Besides the Web API it takes POSTs to /response/<key> (a slash command's or action's
response_url) and, for a benchmark in another process, a control API under /_stub/.

Run on its own: `python -m tests.stubs.slack --port 0 --token xoxb-…` prints its base URL
(SLACK_API_URL is that plus "/api/") and serves until killed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.stubs.webhook import HttpStub, RecordedRequest, StubResponse

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# Slack's rule for channel names: lowercase letters, digits, hyphens and underscores.
_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
_CHANNEL_NAME_MAX = 80
_TOPIC_MAX = 250
DEFAULT_SCOPES = (
    "chat:write",
    "chat:write.public",
    "channels:manage",
    "channels:read",
    "channels:join",
    "channels:history",
    "groups:read",
    "groups:write",
    "groups:history",
    "bookmarks:write",
    "commands",
    "im:write",
    "pins:read",
    "reactions:read",
    "users:read",
    "users:read.email",
)


@dataclass(frozen=True)
class SlackCall:
    method: str  # "chat.postMessage"
    params: dict[str, Any]  # form fields or JSON body, blocks decoded
    headers: dict[str, str]  # names lower-cased
    ok: bool  # what the stub answered
    error: str | None


# Takes the call's params, returns the JSON document Slack would answer with.
SlackHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class _Scripted:
    method: str | None  # None: whichever call comes next
    response: StubResponse


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    creator: str = ""
    created: int = 0
    topic: str = ""
    members: list[str] = field(default_factory=list)
    bookmarks: list[dict[str, Any]] = field(default_factory=list)
    created_by_bot: bool = False  # through conversations.create, not add_channel()

    def as_slack(self, bot_user_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": bot_user_id in self.members,
            "created": self.created,
            "creator": self.creator,
            "topic": {
                "value": self.topic,
                "creator": self.creator if self.topic else "",
                "last_set": 0,
            },
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(self.members),
        }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    user: str
    bot_id: str | None = None  # set when the bot posted it
    thread_ts: str | None = None
    # Every chat.update applied, oldest first: {"text": …, "blocks": …} as sent.
    edits: list[dict[str, Any]] = field(default_factory=list)

    def as_slack(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
        }
        if self.blocks:
            message["blocks"] = self.blocks
        if self.bot_id:
            message["subtype"] = "bot_message"
            message["bot_id"] = self.bot_id
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.edits:
            message["edited"] = {"user": self.user, "ts": self.ts}
        return message


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str
    real_name: str
    name: str

    def as_slack(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "tz": "Europe/London",
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "display_name": self.name,
            },
        }


class SlackStub(HttpStub):
    def __init__(self, *, token: str | None = None) -> None:
        super().__init__()
        # Re-entrant: public helpers lock, and the control API calls them while respond() holds it.
        self._lock = threading.RLock()  # type: ignore[assignment]
        self.token = token or "xoxb-" + secrets.token_hex(12)
        self.team_id = "T0TEST0001"
        self.team = "Acme"
        self.domain = "acme"
        self.bot_user_id = "U0TOCSINBOT"
        self.bot_id = "B0TOCSIN"
        self.scopes: list[str] = list(DEFAULT_SCOPES)
        self.calls: list[SlackCall] = []
        self.routes: dict[str, SlackHandler] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "conversations.create": self._conversations_create,
            "conversations.list": self._conversations_list,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.setTopic": self._conversations_set_topic,
            "conversations.archive": self._conversations_archive,
            "conversations.unarchive": self._conversations_unarchive,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.members": self._conversations_members,
            "bookmarks.add": self._bookmarks_add,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.info": self._users_info,
        }
        # Conversation id -> the user it is a DM with (None for channels).
        self.channels: dict[str, str | None] = {}
        # Channels proper (not DMs), by id.
        self.conversations: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}  # channel id -> messages, oldest first
        self.ephemerals: list[dict[str, Any]] = []  # chat.postEphemeral params accepted
        self.views: dict[str, dict[str, Any]] = {}  # view id -> the view as last opened/updated
        self.users: dict[str, SlackUser] = {}
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url()s
        self.response_keys: list[str] = []  # the <key> of each, in the same order
        self._scripted: deque[_Scripted] = deque()
        self._delays: deque[float] = deque()
        self._rate_limits: dict[str, tuple[float, int]] = {}  # method -> (until, retry_after)
        self._messages = 0
        self._ids = 0
        self._port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be (slack-sdk wants the trailing slash)."""
        return f"{self.url}/api/"

    def start(self, port: int = 0) -> SlackStub:
        super().start()
        if port:
            self._close_listener()
            self._listen(port)
        return self

    def go_down(self) -> None:
        """Close the listening socket: clients get a refused connection until come_back()."""
        assert self._server is not None, "start() the stub first"
        self._port = self._server.server_address[1]
        self._close_listener()

    def come_back(self) -> None:
        """Listen again on the port go_down() closed."""
        self._listen(self._port)

    def _close_listener(self) -> None:
        assert self._server is not None
        self._handler_class = self._server.RequestHandlerClass
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _listen(self, port: int) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    # --- scripting ---------------------------------------------------------------------------

    def add_route(self, method: str, handler: SlackHandler) -> None:
        self.routes[method] = handler

    def fail_next(
        self, error: str = "user_not_found", *, method: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls (of `method`, if given) with {"ok": false, "error": …}."""
        with self._lock:
            for _ in range(times):
                response = StubResponse(200, {"ok": False, "error": error})
                self._scripted.append(_Scripted(method, response))

    def rate_limit_next(
        self, retry_after: int = 1, *, method: str | None = None, times: int = 1
    ) -> None:
        """HTTP 429 with Retry-After, as Slack answers a method called too often."""
        with self._lock:
            for _ in range(times):
                self._scripted.append(_Scripted(method, _rate_limited(retry_after)))

    def rate_limit_for(self, method: str, seconds: float, retry_after: int) -> None:
        """Answer every call of `method` with 429 and Retry-After for the next `seconds`."""
        with self._lock:
            self._rate_limits[method] = (time.monotonic() + seconds, retry_after)

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        with self._lock:
            self._delays.extend([seconds] * times)

    # --- state a test sets up ----------------------------------------------------------------

    def add_channel(
        self,
        name: str,
        *,
        channel_id: str | None = None,
        is_private: bool = False,
        members: Iterable[str] = (),
        bot_is_member: bool = False,
        topic: str = "",
    ) -> str:
        """A channel that existed before the test (an announcements channel, a team's channel).
        Returns its id."""
        with self._lock:
            channel_id = channel_id or self._new_id("C")
            member_list = list(members)
            if bot_is_member and self.bot_user_id not in member_list:
                member_list.append(self.bot_user_id)
            self.conversations[channel_id] = Channel(
                id=channel_id,
                name=name,
                is_private=is_private,
                creator="U0SOMEONE",
                created=int(time.time()),
                topic=topic,
                members=member_list,
            )
            self.channels[channel_id] = None
            self.messages.setdefault(channel_id, [])
            return channel_id

    def add_user(self, user_id: str, email: str, *, real_name: str = "", name: str = "") -> None:
        with self._lock:
            self.users[user_id] = SlackUser(
                user_id, email, real_name or email.split("@")[0], name or email.split("@")[0]
            )

    def post_as_user(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """A message a human posted (so a pin or reaction event can refer to it), in the
        thread of `thread_ts` when given. Returns its ts."""
        with self._lock:
            ts = ts or self._next_ts()
            message = Message(channel_id, ts, text, [], user_id, thread_ts=thread_ts)
            self.messages.setdefault(channel_id, []).append(message)
            self.messages[channel_id].sort(key=lambda m: float(m.ts))
            return ts

    def response_url(self, key: str = "") -> str:
        """A response_url pointing at this stub; what is POSTed there lands in .responses."""
        return f"{self.url}/response/{key or secrets.token_hex(6)}"

    # --- what a test reads -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [call.params for call in self.calls if call.method == method]

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """chat.postMessage params Slack accepted into the DM with this user."""
        with self._lock:
            return [
                call.params
                for call in self.calls
                if call.method == "chat.postMessage"
                and call.ok
                and self.channels.get(call.params.get("channel", "")) == user_id
            ]

    def channel_named(self, name: str) -> Channel | None:
        with self._lock:
            for channel in self.conversations.values():
                if channel.name == name:
                    return copy.deepcopy(channel)
            return None

    def channels_created(self) -> list[Channel]:
        """Channels made through conversations.create, in order."""
        with self._lock:
            return [copy.deepcopy(c) for c in self.conversations.values() if c.created_by_bot]

    def messages_in(self, channel_id: str) -> list[Message]:
        """The channel's messages as they stand now (edits applied), oldest first."""
        with self._lock:
            return copy.deepcopy(self.messages.get(channel_id, []))

    def message(self, channel_id: str, ts: str) -> Message | None:
        with self._lock:
            found = self._find_message(channel_id, ts)
            return copy.deepcopy(found)

    def edits_of(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """Every chat.update applied to that message, oldest first ({"text", "blocks"})."""
        with self._lock:
            found = self._find_message(channel_id, ts)
            return copy.deepcopy(found.edits) if found else []

    def topic_of(self, channel_id: str) -> str:
        with self._lock:
            return self.conversations[channel_id].topic

    def members_of(self, channel_id: str) -> list[str]:
        with self._lock:
            return list(self.conversations[channel_id].members)

    def bookmarks_of(self, channel_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.conversations[channel_id].bookmarks)

    def is_archived(self, channel_id: str) -> bool:
        with self._lock:
            return self.conversations[channel_id].is_archived

    def responses_at(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                body for k, body in zip(self.response_keys, self.responses, strict=True) if k == key
            ]

    def state(self) -> dict[str, Any]:
        """Everything a benchmark in another process wants to know, as JSON-able data."""
        with self._lock:
            counts: dict[str, int] = {}
            for call in self.calls:
                counts[call.method] = counts.get(call.method, 0) + 1
            return {
                "channels": [asdict(c) for c in self.conversations.values()],
                "messages": {
                    channel_id: [{**m.as_slack(), "edit_count": len(m.edits)} for m in messages]
                    for channel_id, messages in self.messages.items()
                },
                "call_counts": counts,
                "errors": [{"method": c.method, "error": c.error} for c in self.calls if not c.ok],
                "responses": self.responses,
                "views": self.views,
            }

    # --- serving -----------------------------------------------------------------------------

    def respond(self, request: RecordedRequest) -> StubResponse:
        response = self._respond(request)
        if self._delays:
            response.delay = self._delays.popleft()
        return response

    def _respond(self, request: RecordedRequest) -> StubResponse:
        if request.path.startswith("/response/") and request.method == "POST":
            self.response_keys.append(request.path.removeprefix("/response/"))
            self.responses.append(request.json() if request.body else {})
            return StubResponse(200, b"ok", {"Content-Type": "text/plain"})
        if request.path.startswith("/_stub/"):
            return self._control(request)
        method = request.path.removeprefix("/api/")
        handler = self.routes.get(method)
        if request.method != "POST" or not request.path.startswith("/api/") or handler is None:
            return StubResponse(404, {"ok": False, "error": "unknown_method"}, unexpected=True)
        params = _params(request)
        response = self._answer(method, handler, params, request)
        document = response.body if isinstance(response.body, dict) else {}
        ok = bool(document.get("ok"))
        self.calls.append(SlackCall(method, params, request.headers, ok, document.get("error")))
        return response

    def _answer(
        self, method: str, handler: SlackHandler, params: dict[str, Any], request: RecordedRequest
    ) -> StubResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        token = token or params.get("token", "")
        if not token:
            return StubResponse(200, {"ok": False, "error": "not_authed"})
        if token != self.token:
            return StubResponse(200, {"ok": False, "error": "invalid_auth"})
        window = self._rate_limits.get(method)
        if window is not None:
            until, retry_after = window
            if time.monotonic() < until:
                return _rate_limited(retry_after)
            del self._rate_limits[method]
        scripted = self._pop_scripted(method)
        if scripted is not None:
            return scripted
        if method == "auth.test":
            return StubResponse(200, handler(params), {"x-oauth-scopes": ",".join(self.scopes)})
        return StubResponse(200, handler(params))

    def _pop_scripted(self, method: str) -> StubResponse | None:
        for entry in self._scripted:
            if entry.method in (None, method):
                self._scripted.remove(entry)
                return StubResponse(**entry.response.__dict__)
        return None

    def _control(self, request: RecordedRequest) -> StubResponse:
        """For a benchmark in another process: GET /_stub/state, POST /_stub/<helper> with the
        helper's keyword arguments as a JSON body."""
        action = request.path.removeprefix("/_stub/")
        if request.method == "GET" and action == "state":
            return StubResponse(200, self.state())
        args: dict[str, Any] = request.json() if request.body else {}
        if action == "go_down":
            # Comes back by itself: once closed, nothing could reach this endpoint to revive it.
            seconds = float(args.get("seconds", 10))
            threading.Thread(target=self._outage, args=(seconds,), daemon=True).start()
            return StubResponse(200, {"ok": True})
        helpers: dict[str, Callable[..., Any]] = {
            "rate_limit_for": self.rate_limit_for,
            "rate_limit_next": self.rate_limit_next,
            "fail_next": self.fail_next,
            "stall_next": self.stall_next,
            "add_channel": self.add_channel,
            "add_user": self.add_user,
            "post_as_user": self.post_as_user,
        }
        helper = helpers.get(action)
        if helper is None or request.method != "POST":
            return StubResponse(404, {"ok": False, "error": "unknown_control"}, unexpected=True)
        return StubResponse(200, {"ok": True, "result": helper(**args)})

    def _outage(self, seconds: float) -> None:
        time.sleep(0.1)  # lets the control call's answer go out first
        self.go_down()
        time.sleep(seconds)
        self.come_back()

    # --- helpers -----------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._messages += 1
        return f"{1700000000 + self._messages}.{self._messages:06d}"

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}0STUB{self._ids:04d}"

    def _find_message(self, channel_id: str, ts: str) -> Message | None:
        for message in self.messages.get(channel_id, []):
            if message.ts == ts:
                return message
        return None

    def _channel(self, channel_id: str) -> Channel | dict[str, Any]:
        """The channel, or Slack's error document when the bot cannot see it."""
        channel = self.conversations.get(channel_id)
        if channel is None or (channel.is_private and self.bot_user_id not in channel.members):
            return {"ok": False, "error": "channel_not_found"}
        return channel

    def _page(
        self, items: list[Any], params: dict[str, Any], default_limit: int
    ) -> tuple[list[Any], str]:
        """Slack's cursor pagination: an opaque cursor, "" on the last page."""
        limit = int(params.get("limit") or default_limit) or default_limit
        cursor = str(params.get("cursor") or "")
        start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        page = items[start : start + limit]
        more = start + limit < len(items)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return page, next_cursor

    # --- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team,
            "user": "tocsin",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [user for user in str(params.get("users", "")).split(",") if user]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if not all(_USER_ID.fullmatch(user) for user in users):
            return {"ok": False, "error": "user_not_found"}
        key = ",".join(sorted(users))
        channel_id = "D" + hashlib.sha1(key.encode()).hexdigest()[:10].upper()  # noqa: S324
        already_open = channel_id in self.channels
        self.channels[channel_id] = users[0] if len(users) == 1 else None
        self.messages.setdefault(channel_id, [])
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": {"id": channel_id},
        }

    def _conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("name") or "")
        if not name:
            return {"ok": False, "error": "invalid_name_required"}
        if len(name) > _CHANNEL_NAME_MAX:
            return {"ok": False, "error": "invalid_name_maxlength"}
        if not _CHANNEL_NAME.fullmatch(name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(channel.name == name for channel in self.conversations.values()):
            return {"ok": False, "error": "name_taken"}
        channel = Channel(
            id=self._new_id("C"),
            name=name,
            is_private=_flag(params.get("is_private")),
            creator=self.bot_user_id,
            created=int(time.time()),
            members=[self.bot_user_id],
            created_by_bot=True,
        )
        self.conversations[channel.id] = channel
        self.channels[channel.id] = None
        self.messages[channel.id] = []
        return {"ok": True, "channel": channel.as_slack(self.bot_user_id)}

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = str(params.get("types") or "public_channel").split(",")
        exclude_archived = _flag(params.get("exclude_archived"))
        visible = [
            channel
            for channel in self.conversations.values()
            if ("private_channel" if channel.is_private else "public_channel") in types
            and not (channel.is_private and self.bot_user_id not in channel.members)
            and not (exclude_archived and channel.is_archived)
        ]
        page, next_cursor = self._page(visible, params, 100)
        return {
            "ok": True,
            "channels": [channel.as_slack(self.bot_user_id) for channel in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        return {"ok": True, "channel": channel.as_slack(self.bot_user_id)}

    def _conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if self.bot_user_id not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        users = [user for user in str(params.get("users", "")).split(",") if user]
        if not users:
            return {"ok": False, "error": "no_user"}
        errors = []
        for user in users:
            if user == self.bot_user_id:
                error = "cant_invite_self"
            elif user not in self.users:
                error = "user_not_found"
            elif user in channel.members:
                error = "already_in_channel"
            else:
                continue
            errors.append({"user": user, "ok": False, "error": error})
        # Without force Slack refuses the whole call; with it, invites the valid ones.
        if errors and not _flag(params.get("force")):
            return {"ok": False, "error": errors[0]["error"], "errors": errors}
        refused = {entry["user"] for entry in errors}
        channel.members.extend(user for user in dict.fromkeys(users) if user not in refused)
        answer: dict[str, Any] = {"ok": True, "channel": channel.as_slack(self.bot_user_id)}
        if errors:
            answer["errors"] = errors
        return answer

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.conversations.get(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel.is_private:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        answer: dict[str, Any] = {"ok": True}
        if self.bot_user_id in channel.members:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        else:
            channel.members.append(self.bot_user_id)
        answer["channel"] = channel.as_slack(self.bot_user_id)
        return answer

    def _conversations_set_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if self.bot_user_id not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        topic = str(params.get("topic", ""))
        if len(topic) > _TOPIC_MAX:
            return {"ok": False, "error": "too_long"}
        channel.topic = topic
        return {"ok": True, "channel": channel.as_slack(self.bot_user_id)}

    def _conversations_archive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        if channel.is_archived:
            return {"ok": False, "error": "already_archived"}
        if self.bot_user_id not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        channel.is_archived = True
        return {"ok": True}

    def _conversations_unarchive(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        if not channel.is_archived:
            return {"ok": False, "error": "not_archived"}
        channel.is_archived = False
        return {"ok": True}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(params.get("channel", ""))
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        latest = float(params.get("latest") or "inf")
        oldest = float(params.get("oldest") or 0)
        inclusive = _flag(params.get("inclusive"))

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        # Thread replies stay in their thread, as in Slack.
        found = [
            m
            for m in reversed(self.messages.get(channel_id, []))
            if within(float(m.ts)) and m.thread_ts in (None, m.ts)
        ]
        page, next_cursor = self._page(found, params, 100)
        return {
            "ok": True,
            "messages": [m.as_slack() for m in page],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """A thread, oldest first: `ts` may be its parent or any reply in it."""
        channel_id = str(params.get("channel", ""))
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        asked = self._find_message(channel_id, str(params.get("ts", "")))
        if asked is None:
            return {"ok": False, "error": "thread_not_found"}
        root = asked.thread_ts or asked.ts
        latest = float(params.get("latest") or "inf")
        oldest = float(params.get("oldest") or 0)
        inclusive = _flag(params.get("inclusive"))

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        thread = [
            m
            for m in self.messages.get(channel_id, [])
            if (m.ts == root or m.thread_ts == root) and within(float(m.ts))
        ]
        page, next_cursor = self._page(thread, params, 1000)
        return {
            "ok": True,
            "messages": [m.as_slack() for m in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel", "")))
        if isinstance(channel, dict):
            return channel
        page, next_cursor = self._page(channel.members, params, 100)
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _bookmarks_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(params.get("channel_id", "")))
        if isinstance(channel, dict):
            return channel
        if params.get("type") != "link":
            return {"ok": False, "error": "invalid_bookmark_type"}
        if not params.get("title"):
            return {"ok": False, "error": "invalid_title"}
        if not str(params.get("link", "")).startswith(("http://", "https://")):
            return {"ok": False, "error": "invalid_link"}
        now = int(time.time())
        bookmark = {
            "id": self._new_id("Bk"),
            "channel_id": channel.id,
            "title": params["title"],
            "link": params["link"],
            "emoji": params.get("emoji"),
            "icon_url": None,
            "type": "link",
            "entity_id": None,
            "date_created": now,
            "date_updated": 0,
            "rank": "U",
            "last_updated_by_user_id": self.bot_user_id,
            "last_updated_by_team_id": self.team_id,
            "shortcut_id": None,
            "app_id": None,
        }
        channel.bookmarks.append(bookmark)
        return {"ok": True, "bookmark": bookmark}

    def _resolve(self, channel: str) -> str:
        """chat.postMessage takes a channel's name ("#announcements") as well as its id."""
        if channel in self.channels:
            return channel
        name = channel.removeprefix("#")
        for conversation in self.conversations.values():
            if conversation.name == name:
                return conversation.id
        return channel

    def _postable(self, channel_id: str) -> dict[str, Any] | None:
        """Slack's error for posting into this conversation, None if the bot may."""
        if channel_id not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        channel = self.conversations.get(channel_id)
        if channel is None:
            return None  # a DM
        if channel.is_archived:
            return {"ok": False, "error": "is_archived"}
        if channel.is_private and self.bot_user_id not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        if self.bot_user_id not in channel.members and "chat:write.public" not in self.scopes:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(str(params.get("channel", "")))
        refused = self._postable(channel)
        if refused:
            return refused
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            text=params.get("text", ""),
            blocks=params.get("blocks", []),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            thread_ts=params.get("thread_ts") or None,
        )
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_slack()}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self._find_message(channel, str(params.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != self.bot_id:
            # A bot token deletes only the bot's own messages.
            return {"ok": False, "error": "cant_delete_message"}
        self.messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self._find_message(channel, str(params.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.bot_id != self.bot_id:
            return {"ok": False, "error": "cant_update_message"}
        conversation = self.conversations.get(channel)
        if conversation is not None and conversation.is_archived:
            return {"ok": False, "error": "is_archived"}
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        edit = {"text": params.get("text", ""), "blocks": params.get("blocks", [])}
        message.edits.append(edit)
        message.text = edit["text"]
        message.blocks = edit["blocks"]
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_slack(),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        refused = self._postable(self._resolve(str(params.get("channel", ""))))
        if refused:
            return refused
        if not params.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        self.ephemerals.append(params)
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(params.get("message_ts", ""))
        if self._find_message(channel, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        permalink = f"https://{self.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        view = _view_param(params)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        stored = self._stored_view(self._new_id("V"), view)
        return {"ok": True, "view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = _view_param(params)
        if view is None:
            return {"ok": False, "error": "invalid_arguments"}
        view_id = str(params.get("view_id") or "")
        if not view_id and params.get("external_id"):
            view_id = next(
                (i for i, v in self.views.items() if v.get("external_id") == params["external_id"]),
                "",
            )
        current = self.views.get(view_id)
        if current is None:
            return {"ok": False, "error": "not_found"}
        if params.get("hash") and params["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return {"ok": True, "view": self._stored_view(view_id, view)}

    def _stored_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0TEST0001",
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        for user in self.users.values():
            if user.email.lower() == email:
                return {"ok": True, "user": user.as_slack(self.team_id)}
        return {"ok": False, "error": "users_not_found"}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.as_slack(self.team_id)}


def _rate_limited(retry_after: int) -> StubResponse:
    return StubResponse(
        429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
    )


def _flag(value: Any) -> bool:
    """Booleans arrive as "true"/"1" in forms and as true in JSON bodies."""
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true")


def _view_param(params: dict[str, Any]) -> dict[str, Any] | None:
    view = params.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    return view if isinstance(view, dict) else None


def _params(request: RecordedRequest) -> dict[str, Any]:
    """slack-sdk sends form fields for most methods and JSON for those carrying blocks."""
    if request.headers.get("content-type", "").startswith("application/json"):
        params: dict[str, Any] = request.json() if request.body else {}
    else:
        params = dict(request.form)
    if isinstance(params.get("blocks"), str):
        params["blocks"] = json.loads(params["blocks"])
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None)
    arguments = parser.parse_args()
    stub = SlackStub(token=arguments.token).start(arguments.port)
    print(stub.url, flush=True)
    # Serves until killed; Ctrl+C is a normal way to stop it.
    try:
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    finally:
        stub.stop()


if __name__ == "__main__":
    main()
