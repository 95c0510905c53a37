"""The Slack benchmark's first two phases: slash commands under load, and declared incidents
until their channel holds their announcement."""

import argparse
import asyncio
import json
import os
import random
import threading
import time
from collections import Counter

from benchmarks.harness import open_loop, p99, percentiles
from benchmarks.slack.clients import Api, Stub, command_mix, command_request
from benchmarks.slack.received import announcement, incident_channels

COMMAND_P99_BUDGET_MS = 300.0
CHANNEL_P99_BUDGET_MS = 5000.0


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
            requests,
            port=port,
            rate=args.command_rate,
            warm=4,
            accept=accept,
        )
    )
    p99_ms = run.percentile(0.99)
    print(f"  load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print(
        f"  answer time p50 {run.percentile(0.5):.0f} ms, p99 {p99_ms:.0f} ms, "
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
    met = p99_ms < COMMAND_P99_BUDGET_MS and not run.failures and notes == kinds["note"]
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
    met = (p99(latencies) if latencies else float("inf")) < CHANNEL_P99_BUDGET_MS and not missing
    print(f"  VERDICT declared → channel + announcement p99 < 5 s: {verdict(met)}")
    return met
