"""The Slack benchmark's storm: conversations.create answers 429 while incidents are declared
and change status; afterwards one channel each, every announcement final, edits collapsed."""

import argparse
import asyncio
import time
from collections import Counter

from benchmarks.harness import open_loop
from benchmarks.slack.clients import Api, Stub
from benchmarks.slack.phases import verdict
from benchmarks.slack.received import announcement, count_delta, incident_channels, shows_status

# The storm's status changes, in order, for each incident.
STORM_STATUSES = ("acknowledged", "investigating", "identified", "monitoring", "resolved")


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
