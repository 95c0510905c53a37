"""A real HTTP server on loopback that records requests: the base of the provider stubs, and the
receiver for outgoing webhooks."""

from __future__ import annotations

import base64
import json
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    status: int  # what the stub answered

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def auth(self) -> tuple[str, str] | None:
        """HTTP basic credentials, if any."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


@dataclass
class StubResponse:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering: longer than the client's timeout makes a timeout.
    delay: float = 0.0
    # The request fell outside the API the stub speaks (unknown path or method).
    unexpected: bool = False
    # Hold the request undecided for `delay` seconds: a client that disconnects meanwhile (a
    # worker killed mid-call) leaves it recorded with status 0, never accepted, as a provider
    # drops a request whose connection died before it was processed.
    hold: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        if isinstance(self.body, bytes):
            return self.body, self.headers
        return json.dumps(self.body).encode(), {"Content-Type": "application/json", **self.headers}


class HttpStub:
    """Serves respond() on 127.0.0.1:<ephemeral> in a thread and records every request."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        # Requests outside the API the stub speaks: always a bug in the code under test.
        self.unexpected: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def respond(self, request: RecordedRequest) -> StubResponse:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stub._handle(self)

            def do_GET(self) -> None:
                stub._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are recorded; the test output stays clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        # Wakes handlers sleeping on a scripted delay, so teardown never waits them out.
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def assert_nothing_sent(self) -> None:
        assert self.requests == [], f"unexpected requests: {self.requests}"

    def assert_nothing_unexpected(self) -> None:
        assert self.unexpected == [], f"requests outside the stubbed API: {self.unexpected}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        draft = RecordedRequest(
            method=handler.command,
            path=split.path,
            query=dict(parse_qsl(split.query)),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            status=0,
        )
        with self._lock:
            response = self.respond(draft)
        if response.hold and not self._client_stays(handler, response.delay):
            with self._lock:
                self.requests.append(replace(draft, status=0))
            return
        with self._lock:
            recorded = replace(draft, status=response.status)
            self.requests.append(recorded)
            if response.unexpected:
                self.unexpected.append(recorded)
        if response.delay and not response.hold and self._stopping.wait(response.delay):
            return
        payload, headers = response.encoded()
        try:
            handler.send_response(response.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout tests); nothing left to tell it

    def _client_stays(self, handler: BaseHTTPRequestHandler, seconds: float) -> bool:
        """Wait `seconds`; False as soon as the client closes its connection."""
        connection = handler.connection
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                return False
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                return False
        return True


class Script:
    """A queue of scripted responses consumed one per request before the default applies."""

    def __init__(self) -> None:
        self._queue: deque[StubResponse] = deque()

    def push(self, response: StubResponse, times: int) -> None:
        self._queue.extend(StubResponse(**response.__dict__) for _ in range(times))

    def pop(self) -> StubResponse | None:
        return self._queue.popleft() if self._queue else None


class WebhookReceiver(HttpStub):
    """Accepts POSTs on any path with 200 and an X-Request-Id, unless scripted otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self._script = Script()

    def url_for(self, path: str = "/hooks/tocsin") -> str:
        return self.url + path

    def respond_with(
        self,
        status: int,
        *,
        body: bytes | dict[str, Any] = b"",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        self._script.push(StubResponse(status, body, dict(headers or {}), delay), times)

    def respond(self, request: RecordedRequest) -> StubResponse:
        if request.method != "POST":
            return StubResponse(405, unexpected=True)
        scripted = self._script.pop()
        if scripted is not None:
            return scripted
        return StubResponse(200, {"ok": True}, {"X-Request-Id": f"req-{len(self.requests) + 1}"})
