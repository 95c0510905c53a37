"""Postmortem budget: drafting the postmortem of an incident with 5,000 timeline entries takes
< 500 ms, with a number of queries that does not grow with the timeline.

    python -m benchmarks.postmortems                 # 5,000 entries, 20 drafts
    python -m benchmarks.postmortems --entries 20000 --drafts 10

A fresh database (BENCH_POSTMORTEMS_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/tocsin_bench_postmortems) is created and migrated. Each
draft is a different resolved incident with the same shape (the timeline, 40 alerts with
runbook links, five roles, a few highlighted entries and Slack pins), drafted through
`postmortem_create` as the task on resolve does: the context read, the default template
rendered, the sections split and the postmortem and its first revision written. "Refresh from
the incident" is measured on the same postmortems. Queries are counted with the timeline at 50
entries and at the full size; the two counts must be equal.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.harness import configure_in_process, recreate_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_postmortems"
BUDGET_MS = 500.0
SMALL_TIMELINE = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000, help="timeline entries per incident")
    parser.add_argument("--drafts", type=int, default=20, help="incidents drafted (timed)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed drafts first")
    return parser.parse_args()


def make_incident(index: int, entries: int, people: list[Any], now: datetime) -> Any:
    """A resolved SEV1 with `entries` timeline entries, written in bulk (no events fire)."""
    from alerts.models import Alert, Integration
    from incidents.models import (
        EventKind,
        Incident,
        RoleAssignment,
        RoleKind,
        Severity,
        Source,
        Status,
        TimelineEvent,
    )

    started = now - timedelta(hours=6, minutes=index)
    incident = Incident.objects.create(
        number=index + 1,
        title=f"Checkout returns 502 errors ({index})",
        summary="Card payments failed for a share of customers.",
        resolution="Rolled back the gateway deploy.",
        severity=Severity.objects.get(name="SEV1"),
        status=Status.RESOLVED,
        source=Source.ALERTMANAGER,
        commander=people[0],
        started_at=started,
        detected_at=started + timedelta(minutes=7),
        declared_at=started + timedelta(minutes=8),
        acknowledged_at=started + timedelta(minutes=9),
        identified_at=started + timedelta(minutes=30),
        mitigated_at=started + timedelta(minutes=40),
        resolved_at=started + timedelta(hours=2),
    )
    kinds = [EventKind.NOTE, EventKind.ALERT, EventKind.PAGE, EventKind.STATUS_CHANGED]
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            incident=incident,
            kind=EventKind.SLACK if n % 250 == 0 else kinds[n % len(kinds)],
            occurred_at=started + timedelta(seconds=n),
            actor=people[n % len(people)],
            source=Source.WEB,
            message=f"Entry {n}: checked the gateway dashboards | error rate {n % 50} %",
            data={"pinned": True, "permalink": "https://example.slack.com/archives/C1/p1"}
            if n % 250 == 0
            else {},
            highlighted=n % 500 == 1,
        )
        for n in range(entries)
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(incident=incident, role=role, user=people[i], assigned_at=started)
        for i, role in enumerate(RoleKind.values)
    )
    integration = Integration.objects.first()
    Alert.objects.bulk_create(
        Alert(
            integration=integration,
            dedup_key=f"{index}-{n}",
            status="resolved",
            title="HighErrorRate",
            labels={"alertname": "HighErrorRate"},
            annotations={"runbook_url": f"https://runbooks.example.com/{n % 3}"},
            starts_at=started,
            event_at=started,
            first_seen_at=started,
            last_seen_at=started,
            incident=incident,
        )
        for n in range(40)
    )
    return incident


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_POSTMORTEMS_DATABASE_URL", DEFAULT_URL)
    configure_in_process(url)
    recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.actors import SYSTEM
    from accounts.models import User
    from alerts.models import Integration
    from postmortems.services.postmortems import postmortem_create, postmortem_refresh

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    people = [
        User.objects.create(username=f"person{n}", first_name="Person", last_name=str(n))
        for n in range(8)
    ]
    from incidents.models import Team

    team = Team.objects.create(name="Payments", slug="payments")
    Integration.objects.create(
        name="Alertmanager",
        kind="alertmanager",
        team=team,
        token_hash="x" * 64,
        token_prefix="bench",  # noqa: S106
    )

    def draft(incident: Any) -> tuple[float, int, Any]:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            postmortem = postmortem_create(incident=incident, actor=SYSTEM)
            elapsed = (time.perf_counter() - started) * 1000
        return elapsed, len(queries), postmortem

    total = args.warmup + args.drafts
    print(f"Loading {total + 1} incidents with {args.entries:,} timeline entries each …")
    small = make_incident(0, SMALL_TIMELINE, people, now)
    incidents = [make_incident(i + 1, args.entries, people, now) for i in range(total)]
    # The first draft also creates the default template from the built-in one.
    for incident in incidents[: args.warmup]:
        draft(incident)
    _, small_queries, _ = draft(small)
    timings, counts, postmortems = [], [], []
    for incident in incidents[args.warmup :]:
        elapsed, count, postmortem = draft(incident)
        timings.append(elapsed)
        counts.append(count)
        postmortems.append(postmortem)
    refreshes = []
    for postmortem in postmortems:
        started = time.perf_counter()
        postmortem_refresh(postmortem=postmortem, actor=SYSTEM)
        refreshes.append((time.perf_counter() - started) * 1000)
    size = len(postmortems[0].sections and str(postmortems[0].sections))

    print(f"postmortem draft, {args.entries:,} timeline entries, {len(timings)} drafts")
    print(
        f"  draft     p50 {statistics.median(timings):7.1f} ms   p95"
        f" {percentile(timings, 0.95):7.1f} ms   max {max(timings):7.1f} ms"
        f"   (budget < {BUDGET_MS:.0f} ms)"
    )
    print(
        f"  refresh   p50 {statistics.median(refreshes):7.1f} ms   p95"
        f" {percentile(refreshes, 0.95):7.1f} ms   max {max(refreshes):7.1f} ms"
    )
    print(
        f"  queries   {small_queries} with {SMALL_TIMELINE} entries, {sorted(set(counts))} with"
        f" {args.entries:,} entries   document {size / 1024:.0f} KiB"
    )
    within = max(timings) < BUDGET_MS and set(counts) == {small_queries}
    print("  budget    " + ("MET" if within else "MISSED"))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
