"""A local server speaking Slack's Web API as slack-sdk calls it: POST /api/<method>.

Methods are a route table (method name -> handler); later features add theirs with add_route().
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.stubs.webhook import HttpStub, RecordedRequest, StubResponse

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


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


class SlackStub(HttpStub):
    def __init__(self) -> None:
        super().__init__()
        self.token = "xoxb-" + secrets.token_hex(12)
        self.calls: list[SlackCall] = []
        self.routes: dict[str, SlackHandler] = {
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
        }
        # Conversation id -> the user it is a DM with (None for channels).
        self.channels: dict[str, str | None] = {}
        self._scripted: deque[_Scripted] = deque()
        self._delays: deque[float] = deque()
        self._messages = 0

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be (slack-sdk wants the trailing slash)."""
        return f"{self.url}/api/"

    def add_route(self, method: str, handler: SlackHandler) -> None:
        self.routes[method] = handler

    def add_channel(self, channel_id: str) -> None:
        self.channels[channel_id] = None

    def fail_next(
        self, error: str = "user_not_found", *, method: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls (of `method`, if given) with {"ok": false, "error": …}."""
        for _ in range(times):
            response = StubResponse(200, {"ok": False, "error": error})
            self._scripted.append(_Scripted(method, response))

    def rate_limit_next(
        self, retry_after: int = 1, *, method: str | None = None, times: int = 1
    ) -> None:
        """HTTP 429 with Retry-After, as Slack answers a method called too often."""
        for _ in range(times):
            response = StubResponse(
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(retry_after)},
            )
            self._scripted.append(_Scripted(method, response))

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        self._delays.extend([seconds] * times)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        """chat.postMessage params Slack accepted into the DM with this user."""
        return [
            call.params
            for call in self.calls
            if call.method == "chat.postMessage"
            and call.ok
            and self.channels.get(call.params.get("channel", "")) == user_id
        ]

    def respond(self, request: RecordedRequest) -> StubResponse:
        response = self._respond(request)
        if self._delays:
            response.delay = self._delays.popleft()
        return response

    def _respond(self, request: RecordedRequest) -> StubResponse:
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
        scripted = self._pop_scripted(method)
        if scripted is not None:
            return scripted
        return StubResponse(200, handler(params))

    def _pop_scripted(self, method: str) -> StubResponse | None:
        for entry in self._scripted:
            if entry.method in (None, method):
                self._scripted.remove(entry)
                return StubResponse(**entry.response.__dict__)
        return None

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
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": {"id": channel_id},
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel", "")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        self._messages += 1
        ts = f"{1700000000 + self._messages}.{self._messages:06d}"
        message = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0TOCSIN",
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
            "ts": ts,
        }
        return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _params(request: RecordedRequest) -> dict[str, Any]:
    """slack-sdk sends form fields for most methods and JSON for those carrying blocks."""
    if request.headers.get("content-type", "").startswith("application/json"):
        params: dict[str, Any] = request.json() if request.body else {}
    else:
        params = dict(request.form)
    if isinstance(params.get("blocks"), str):
        params["blocks"] = json.loads(params["blocks"])
    return params
