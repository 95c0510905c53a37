"""What the Slack benchmark drives: the Slack stub in its own process, and Tocsin as Slack and
an integration call it (signed slash commands, the REST API)."""

import http.client
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.harness import ROOT, request_bytes
from tests.chatops.slack_requests import FORM, sign, slash_command

COMMANDS_PATH = "/slack/commands"
INCIDENTS_PATH = "/api/v1/incidents/"
SLACK_USER_ID = "U0BENCH001"
SIGNING_SECRET = "bench-signing-secret-" + "s" * 16


class Stub:
    """The Slack stub in its own process, driven through its control API."""

    def __init__(self, token: str, log: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.stubs.slack", "--port", "0", "--token", token],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            start_new_session=True,
        )
        self.url = self.process.stdout.readline().decode().strip() if self.process.stdout else ""
        if not self.url:
            raise SystemExit(f"the Slack stub did not start; see {log}")
        self.port = urlsplit(self.url).port or 80

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self._call("GET", "/_stub/state")
        return state

    def control(self, action: str, **arguments: Any) -> Any:
        return self._call("POST", f"/_stub/{action}", arguments)["result"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Api:
    """Tocsin's REST API as an integration calls it: one keep-alive connection, a token."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.key = key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.conn.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {self.key}"},
        )
        response = self.conn.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        if response.status >= 300:
            raise SystemExit(f"POST {path}: HTTP {response.status} {answer}")
        return answer

    def declare(self, title: str) -> int:
        answer = self.post(INCIDENTS_PATH, {"title": title, "severity": "SEV2", "team": "platform"})
        number: int = answer["number"]
        return number

    def status_request(self, number: int, status: str) -> bytes:
        """A status change as raw HTTP, for the open loop."""
        body = json.dumps({"status": status}).encode()
        return request_bytes(
            f"{INCIDENTS_PATH}{number}/status/",
            body,
            port=self.port,
            user_agent="bench-slack",
            headers={"Authorization": f"Token {self.key}"},
        )


def command_request(text: str, *, port: int, channel_id: str, response_url: str) -> bytes:
    """`/incident <text>` as Slack sends it: form-encoded, signed, a fresh trigger_id."""
    body = slash_command(
        text, user_id=SLACK_USER_ID, channel_id=channel_id, response_url=response_url
    ).body
    timestamp = int(time.time())
    return request_bytes(
        COMMANDS_PATH,
        body.encode(),
        port=port,
        user_agent="Slackbot 1.0 (+https://api.slack.com/robots)",
        content_type=FORM,
        headers={
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(SIGNING_SECRET, timestamp, body),
        },
    )


def command_mix(rng: random.Random, numbers: list[int], count: int) -> list[str]:
    """Mostly notes and status changes on open incidents, some help and oncall."""
    texts = []
    for i in range(count):
        number = rng.choice(numbers)
        roll = rng.random()
        if roll < 0.55:
            texts.append(f"INC-{number} note bench note {i}: checked the dashboards, still red")
        elif roll < 0.80:
            texts.append(f"INC-{number} status {rng.choice(('investigating', 'identified'))}")
        elif roll < 0.90:
            texts.append("help")
        else:
            texts.append("oncall")
    return texts
