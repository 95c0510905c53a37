"""Slack budgets (issue 12), against the local Slack stub:

- slash commands: p99 < 300 ms answer time at 20 commands/s;
- declared incident → its channel created and the announcement posted there: p99 < 5 s;
- storm: conversations.create answers 429 with Retry-After: 5 for 60 s while 50 incidents are
  declared and each changes status 5 times. Afterwards: 50 channels, each created once; every
  announcement shows its incident's final state; chat.update calls well below the changes.

    python -m benchmarks.slack
    python -m benchmarks.slack --command-rate 10 --declares 10 --storm-incidents 20
    python -m benchmarks.slack --storm-schedule spread

A fresh database (BENCH_SLACK_DATABASE_URL, default postgres://…/tocsin_bench_slack) gets one
team and one responder linked to a Slack user, whose API token declares incidents and changes
their status through the REST API. The Slack stub (tests/stubs/slack.py) runs as its own
process; gunicorn (production settings), a Celery worker (queues celery and paging) and beat
run as in production, on Redis (BENCH_SLACK_REDIS_URL), with SLACK_API_URL pointing at the stub.
Everything Slack received is read back from the stub's control API (GET /_stub/state).

1. Slash commands, signed as Slack signs them, in open loop (each due at start + i/rate, its
   latency counted from then): mostly `INC-n note …` and `INC-n status …` on five incidents,
   some `help` and `oncall`. Afterwards the notes must all be on the timeline.
2. Incidents declared at 1/s; the stub's state is polled every 50 ms for the incident's
   channel holding its announcement. Latency from when the declare request was sent.
3. The storm, then a bounded wait until every announcement shows its incident's final state
   and the outbox holds nothing left to send for those incidents. --storm-schedule burst (the
   default) sends each incident's changes back to back, as a responder clicking through them
   or an alert storm moving them, where edits must collapse; spread sends them ~10 s apart, so
   each is an edit of its own in the announcements channel, which Slack answers at once (only
   the incident channels wait out the 429s, and their announcements go out once, final).
"""

import argparse
import asyncio
import http.client
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.ingest import (
    ROOT,
    configure,
    drop_database,
    free_port,
    open_loop,
    recreate_database,
    request_bytes,
    start_gunicorn,
    stop_gunicorn,
)
from benchmarks.paging import celery, celery_worker, percentiles
from tests.chatops.slack_requests import FORM, sign, slash_command

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_slack"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
COMMANDS_PATH = "/slack/commands"
INCIDENTS_PATH = "/api/v1/incidents/"
SLACK_USER_ID = "U0BENCH001"
SIGNING_SECRET = "bench-signing-secret-" + "s" * 16
COMMAND_P99_BUDGET_MS = 300.0
CHANNEL_P99_BUDGET_MS = 5000.0
# The storm's status changes, in order, for each incident.
STORM_STATUSES = ("acknowledged", "investigating", "identified", "monitoring", "resolved")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--command-rate", type=float, default=20.0, help="slash commands/s")
    parser.add_argument("--command-seconds", type=float, default=30.0, help="phase 1 duration")
    parser.add_argument("--declares", type=int, default=30, help="phase 2 incidents, at 1/s")
    parser.add_argument("--storm-incidents", type=int, default=50, help="phase 3 incidents")
    parser.add_argument("--storm-seconds", type=float, default=60.0, help="429 window")
    parser.add_argument("--retry-after", type=int, default=5, help="the 429s' Retry-After")
    parser.add_argument(
        "--storm-schedule",
        choices=("spread", "burst"),
        default="burst",
        help="each incident's 5 changes spread over the window, or back to back",
    )
    parser.add_argument("--settle-limit", type=float, default=180.0, help="max wait, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--gunicorn-args", default="", help=argparse.SUPPRESS)
    parser.add_argument("--celery-concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--seed", type=int, default=12, help="command mix seed")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


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


def announcement(messages: list[dict[str, Any]], number: int) -> dict[str, Any] | None:
    """The incident's announcement among a channel's messages: the bot's message whose header
    is `INC-<n>: <title>` (notices in the same channel have no header)."""
    for message in messages:
        blocks = message.get("blocks") or []
        if (
            message.get("bot_id")
            and blocks
            and blocks[0].get("type") == "header"
            and blocks[0]["text"]["text"].startswith(f"INC-{number}:")
        ):
            return message
    return None


def incident_channels(state: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Channels the bot created, by incident number (from the name, inc-<n>-…)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for channel in state["channels"]:
        parts = channel["name"].split("-")
        if channel["created_by_bot"] and len(parts) > 1 and parts[1].isdigit():
            found[int(parts[1])].append(channel)
    return found


def shows_status(message: dict[str, Any] | None, label: str) -> bool:
    """Both the fallback text and the blocks' Status field say `label`."""
    if message is None:
        return False
    fields = [
        field["text"]
        for block in message.get("blocks") or []
        if block.get("type") == "section"
        for field in block.get("fields") or []
    ]
    return f" · {label} · " in message["text"] and f"*Status*\n{label}" in fields


def count_delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """Calls per method, and refusals per method and error, between two states."""
    calls = Counter(after["call_counts"]) - Counter(before["call_counts"])
    refused = Counter(
        f"{e['method']} {e['error']}" for e in after["errors"][len(before["errors"]) :]
    )
    return calls, refused


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def phase_commands(
    args: argparse.Namespace, *, port: int, stub: Stub, numbers: list[int], channel_id: str
) -> bool:
    from incidents.models import EventKind, TimelineEvent

    count = round(args.command_rate * args.command_seconds)
    texts = command_mix(random.Random(args.seed), numbers, count)
    requests = [
        command_request(
            text, port=port, channel_id=channel_id, response_url=f"{stub.url}/response/cmd-{i}"
        )
        for i, text in enumerate(texts)
    ]
    answers: Counter[str] = Counter()

    def accept(status: int, body: bytes) -> bool:
        if status != 200:
            return False
        text = str(json.loads(body).get("text", ""))
        answers[text.split(" ", 1)[0] if text.endswith("…") else text[:60]] += 1
        return True

    notes_before = TimelineEvent.objects.filter(kind=EventKind.NOTE).count()
    responses_before = len(stub.state()["responses"])
    kinds = Counter(t.split()[1] if t.startswith("INC-") else t for t in texts)
    print(
        f"\n1. Slash commands: {count} at {args.command_rate:.0f}/s for "
        f"{args.command_seconds:.0f} s ({', '.join(f'{n} {k}' for k, n in kinds.most_common())})",
        flush=True,
    )
    # Untimed: each gunicorn worker's first commands pay for imports and connections. Answered
    # in the request alone, so the counts below are the phase's own.
    warm_up = [
        command_request(
            ("help", "oncall")[i % 2], port=port, channel_id=channel_id, response_url=stub.url
        )
        for i in range(40)
    ]
    asyncio.run(
        open_loop(
            "warm-up",
            COMMANDS_PATH,
            warm_up,
            port=port,
            rate=args.command_rate,
            warm=4,
            accept=accept,
        )
    )
    answers.clear()
    load = os.getloadavg()
    run = asyncio.run(
        open_loop(
            "commands",
            COMMANDS_PATH,
            requests,
            port=port,
            rate=args.command_rate,
            warm=4,
            accept=accept,
        )
    )
    p99 = run.percentile(0.99)
    print(f"  load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print(
        f"  answer time p50 {run.percentile(0.5):.0f} ms, p99 {p99:.0f} ms, "
        f"max {max(run.latencies_ms):.0f} ms; {len(run.failures)} not answered 200"
        + (f", e.g. {run.failures[0]}" if run.failures else "")
    )
    print("  answers: " + ", ".join(f"{n} {a!r}" for a, n in answers.most_common(6)))

    # Carried out in tasks: the notes land on the timeline, each once.
    incident_commands = kinds["note"] + kinds["status"]
    deadline = time.monotonic() + 60
    while True:
        notes = TimelineEvent.objects.filter(kind=EventKind.NOTE).count() - notes_before
        responses = len(stub.state()["responses"]) - responses_before
        if notes >= kinds["note"] and responses >= incident_commands:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(
        f"  effect: {notes} notes on the timeline for {kinds['note']} note commands; "
        f"{responses} response_url answers for {incident_commands} incident commands"
    )
    met = p99 < COMMAND_P99_BUDGET_MS and not run.failures and notes == kinds["note"]
    print(f"  VERDICT slash commands p99 < {COMMAND_P99_BUDGET_MS:.0f} ms: {verdict(met)}")
    return met


def phase_channels(args: argparse.Namespace, *, api: Api, stub: Stub, announcements: str) -> bool:
    print(
        f"\n2. Declared → channel with its announcement: {args.declares} incidents at 1/s",
        flush=True,
    )
    sent: dict[int, float] = {}
    in_channel: dict[int, float] = {}
    announced: dict[int, float] = {}
    done = threading.Event()
    polls = 0

    def poll() -> None:
        nonlocal polls
        while not done.is_set():
            state = stub.state()
            now = time.monotonic()
            polls += 1
            channels = incident_channels(state)
            for number in list(sent):
                for channel in channels.get(number, []):
                    if number not in in_channel and announcement(
                        state["messages"].get(channel["id"], []), number
                    ):
                        in_channel[number] = now
                if number not in announced and announcement(
                    state["messages"].get(announcements, []), number
                ):
                    announced[number] = now
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    start = time.monotonic()
    for i in range(args.declares):
        time.sleep(max(0.0, start + i - time.monotonic()))
        began = time.monotonic()
        number = api.declare(f"Bench declared {i}: checkout errors")
        sent[number] = began
    deadline = time.monotonic() + 30
    while len(in_channel) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    done.set()
    poller.join()
    latencies = [(in_channel[n] - sent[n]) * 1000 for n in sent if n in in_channel]
    posted = [(announced[n] - sent[n]) * 1000 for n in sent if n in announced]
    print(f"  channel + announcement in it: {percentiles(latencies)} ({polls} polls)")
    print(f"  announcements channel post:   {percentiles(posted)}")
    missing = sorted(set(sent) - set(in_channel))
    if missing:
        print(f"  no channel with its announcement within 30 s of the last declare: {missing}")
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("inf")
    met = p99 < CHANNEL_P99_BUDGET_MS and not missing
    print(f"  VERDICT declared → channel + announcement p99 < 5 s: {verdict(met)}")
    return met


def phase_storm(args: argparse.Namespace, *, api: Api, stub: Stub, announcements: str) -> bool:
    from chatops.models import CallState, SlackCall
    from incidents.models import Incident, Status

    n = args.storm_incidents
    print(
        f"\n3. Storm: conversations.create 429 (Retry-After {args.retry_after}) for "
        f"{args.storm_seconds:.0f} s; {n} incidents declared, each changing status "
        f"{len(STORM_STATUSES)} times ({' → '.join(STORM_STATUSES)}), {args.storm_schedule}",
        flush=True,
    )
    before = stub.state()
    stub.control(
        "rate_limit_for",
        method="conversations.create",
        seconds=args.storm_seconds,
        retry_after=args.retry_after,
    )
    window_end = time.monotonic() + args.storm_seconds
    # A sixth of the window for declaring, the rest for the changes: all inside the window.
    declare_span = args.storm_seconds / 6
    start = time.monotonic()
    numbers = []
    for i in range(n):
        time.sleep(max(0.0, start + i * declare_span / n - time.monotonic()))
        numbers.append(api.declare(f"Bench storm {i}: payments timing out"))
    if args.storm_schedule == "spread":
        # Each incident's changes ~10 s apart: every change is its own edit, none to collapse.
        order = [(number, status) for status in STORM_STATUSES for number in numbers]
    else:
        # Each incident's changes back to back, as a responder clicking through them.
        order = [(number, status) for number in numbers for status in STORM_STATUSES]
    changes = [api.status_request(number, status) for number, status in order]
    change_rate = len(changes) / max(1.0, window_end - time.monotonic() - 1)
    run = asyncio.run(
        open_loop(
            "storm changes",
            "",
            changes,
            port=api.port,
            rate=change_rate,
            warm=2,
            accept=lambda status, body: status == 200,
        )
    )
    print(
        f"  {len(changes)} status changes at {change_rate:.1f}/s: p50 {run.percentile(0.5):.0f} ms,"
        f" p99 {run.percentile(0.99):.0f} ms, {len(run.failures)} refused"
        + (f", e.g. {run.failures[0]}" if run.failures else "")
    )
    changes_done = time.monotonic()
    time.sleep(max(0.0, window_end - changes_done))
    print(
        f"  window over ({changes_done - window_end:+.1f} s after it for the last change); "
        f"waiting up to {args.settle_limit:.0f} s to settle",
        flush=True,
    )

    final = {
        number: Status(status).label
        for number, status in Incident.objects.filter(number__in=numbers).values_list(
            "number", "status"
        )
    }
    incident_ids = list(Incident.objects.filter(number__in=numbers).values_list("pk", flat=True))
    unsent = [CallState.PENDING, CallState.QUEUED, CallState.SENDING]
    settled_at = None
    deadline = time.monotonic() + args.settle_limit
    while True:
        state = stub.state()
        channels = incident_channels(state)
        wrong = [
            number
            for number in numbers
            if len(channels.get(number, [])) != 1
            or not shows_status(
                announcement(state["messages"].get(channels[number][0]["id"], []), number),
                final[number],
            )
            or not shows_status(
                announcement(state["messages"][announcements], number), final[number]
            )
        ]
        outstanding = SlackCall.objects.filter(
            incident_id__in=incident_ids, state__in=unsent
        ).count()
        if not wrong and not outstanding:
            settled_at = time.monotonic()
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)

    calls, refused = count_delta(before, state)
    created = {number: len(channels.get(number, [])) for number in numbers}
    duplicates = {number: c for number, c in created.items() if c > 1}
    in_channel_ok = sum(
        shows_status(
            announcement(state["messages"].get(channels[number][0]["id"], []), number),
            final[number],
        )
        for number in numbers
        if channels.get(number)
    )
    announced_ok = sum(
        shows_status(announcement(state["messages"][announcements], number), final[number])
        for number in numbers
    )
    status_changes = len(changes) - len(run.failures)
    print(f"  final states in the database: {dict(Counter(final.values()))}")
    print(
        f"  channels: {sum(1 for c in created.values() if c)} of {n} incidents have one, "
        f"{sum(created.values())} created in all; duplicates: {duplicates or 'none'}; "
        f"conversations.create calls {calls['conversations.create']}"
    )
    print(
        f"  announcements at the final state: incident channel {in_channel_ok}/{n}, "
        f"announcements channel {announced_ok}/{n}"
    )
    if wrong:
        print(f"  not settled: {wrong[:10]}{' …' if len(wrong) > 10 else ''}")
        for number in wrong[:3]:
            found = channels.get(number, [])
            message = (
                announcement(state["messages"].get(found[0]["id"], []), number) if found else None
            )
            posted = announcement(state["messages"][announcements], number)
            print(
                f"    INC-{number} is {final[number]}; channels {[c['name'] for c in found]}; "
                f"in channel: {message['text'] if message else None!r}; "
                f"announcements: {posted['text'] if posted else None!r}"
            )
    if outstanding:
        print(f"  outbox rows still unsent for these incidents: {outstanding}")
    edits_in_channels = sum(
        (announcement(state["messages"].get(channels[number][0]["id"], []), number) or {}).get(
            "edit_count", 0
        )
        for number in numbers
        if channels.get(number)
    )
    edits_announced = sum(
        (announcement(state["messages"][announcements], number) or {}).get("edit_count", 0)
        for number in numbers
    )
    print(
        f"  chat.update calls {calls['chat.update']} for {status_changes} status changes "
        f"(x2 places = {2 * status_changes} announcement edits if each were sent); "
        f"chat.postMessage {calls['chat.postMessage']}"
    )
    print(
        f"  announcement edits: {edits_in_channels} in the incident channels, "
        f"{edits_announced} in the announcements channel"
    )
    ratelimited = {k: v for k, v in refused.items() if k.endswith(" ratelimited")}
    print(f"  429s received: {sum(ratelimited.values())} ({ratelimited or 'none'})")
    other = {k: v for k, v in refused.items() if not k.endswith(" ratelimited")}
    if other:
        print(f"  other refusals: {other}")
    if settled_at is not None:
        print(f"  settled {settled_at - window_end:.1f} s after the window ended")
    else:
        print(f"  NOT settled within {args.settle_limit:.0f} s after the window")
    correct = (
        settled_at is not None
        and not duplicates
        and all(created.values())
        and in_channel_ok == n
        and announced_ok == n
    )
    print(f"  VERDICT storm: one channel each, every announcement final: {verdict(correct)}")
    fewer = calls["chat.update"] < status_changes
    print(
        f"  VERDICT storm: chat.update calls ({calls['chat.update']}) below the changes "
        f"({status_changes}): {verdict(fewer)}"
    )
    met = correct and fewer
    return met


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_SLACK_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_SLACK_REDIS_URL", DEFAULT_REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    token = "xoxb-bench-" + secrets.token_hex(12)
    stub = Stub(token, workdir / "stub.log")
    announcements = stub.control("add_channel", name="incidents-announcements")
    stub.control("add_user", user_id=SLACK_USER_ID, email="responder@example.com")
    port = free_port()
    # gunicorn (start_gunicorn) and the workers take their environment from ours.
    os.environ.update(
        {
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{stub.url}/api/",
            "SLACK_ANNOUNCEMENTS_CHANNEL": announcements,
            "BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    configure(url, redis_url)

    print(f"Creating {urlsplit(url).path.lstrip('/')} and migrating; Slack stub at {stub.url}")
    recreate_database(url)
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    from accounts.actors import SYSTEM
    from accounts.models import User
    from accounts.services import api_token_create
    from chatops.models import SlackUserLink
    from chatops.services.people import slack_link_set
    from incidents.models import Team

    call_command("migrate", verbosity=0)
    Team.objects.create(name="Platform", slug="platform")
    responder = User.objects.create(username="responder", email="responder@example.com")
    slack_link_set(
        user=responder,
        slack_user_id=SLACK_USER_ID,
        source=SlackUserLink.Source.HAND,
        actor=SYSTEM,
    )
    _, key = api_token_create(user=responder, name="bench")
    redis.Redis.from_url(redis_url).flushdb()
    connection.close()

    env = {
        **os.environ,
        "TOCSIN_PRODUCTION": "1",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    print(
        f"Starting gunicorn ({args.workers} x {args.threads}), a Celery worker "
        f"({args.celery_concurrency} threads, queues celery and paging) and beat; "
        f"logs in {workdir}",
        flush=True,
    )
    server = start_gunicorn(
        args, port=port, database_url=url, redis_url=redis_url, log=workdir / "gunicorn.log"
    )
    worker = celery_worker(
        "celery,paging", threads=args.celery_concurrency, env=env, log=workdir / "worker.log"
    )
    beat = celery(
        ["beat", f"--schedule={workdir / 'beat-schedule'}", "--loglevel=WARNING"],
        env,
        workdir / "beat.log",
    )
    results = []
    try:
        time.sleep(5)  # the worker and beat connect
        api = Api(port, key)
        numbers = [api.declare(f"Bench commands {i}: search degraded") for i in range(5)]
        time.sleep(3)  # their channels and announcements, before the commands' load
        results.append(
            phase_commands(args, port=port, stub=stub, numbers=numbers, channel_id=announcements)
        )
        results.append(phase_channels(args, api=api, stub=stub, announcements=announcements))
        results.append(phase_storm(args, api=api, stub=stub, announcements=announcements))
    finally:
        for process in (worker, beat):
            process.terminate()
        for process in (worker, beat):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        stop_gunicorn(server)
        stub.stop()
    print(f"\nBudgets met: {sum(results)} of {len(results)}; logs in {workdir}")
    connection.close()
    if not args.keep:
        drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
