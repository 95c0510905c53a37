"""Paging budgets, under the ingest benchmark's load:

- alert received → first notification handed to its notifier: p99 < 2 s;
- an escalation level fires after its due time: p99 < 2 s late;
- who_is_on_call for a schedule of 3 layers and 100 overrides: < 5 ms.

    python -m benchmarks.paging                       # 200 requests/s for 30 s
    python -m benchmarks.paging --rate 100 --seconds 20

A fresh database (BENCH_PAGING_DATABASE_URL, default postgres://…/tocsin_paging) gets one team,
two on-call people reachable by an outgoing webhook (a receiver in this process), and a policy
(level 1 the first person, level 2 the second after --level-delay seconds). The Alertmanager
integration routes every incident to it, its storm cap lifted. gunicorn (production settings),
a Celery worker and a beat run as in production, on Redis (BENCH_PAGING_REDIS_URL).

The webhook is then driven at --rate requests/s of 10 alerts (the ingest benchmark's mix, open
loop), and every incident those alerts declare is paged. Nobody acknowledges, so each escalates
to level 2. Afterwards the rows say it all: an incident's first alert's first_seen_at (the
request that carried it) against its first DeliveryAttempt.started_at (the notifier called), and
each level-2 notification's created_at (the tick that fired it) against level 1's plus the delay.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    add_gunicorn_arguments,
    celery_beat,
    celery_worker,
    configure,
    create_and_migrate,
    drop_database,
    free_port,
    open_loop,
    p99,
    percentiles,
    production_env,
    request_bytes,
    start_gunicorn,
    stop_gunicorn,
    stop_processes,
)
from benchmarks.ingest.check import uncapped_alertmanager
from benchmarks.ingest.plan import WEBHOOK_PATH, Plan, webhook_accepted

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_paging"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="webhook requests/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--probes", type=float, default=1.0, help="paging alerts per second")
    parser.add_argument("--level-delay", type=int, default=10, help="seconds before level 2")
    add_gunicorn_arguments(parser)
    parser.add_argument("--celery-concurrency", type=int, default=4, help="worker threads")
    parser.add_argument("--seed", type=int, default=7, help="payload generator seed")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


class Receiver:
    """The on-call people's webhook endpoint: answers 200 at once, counts what arrived."""

    def __init__(self) -> None:
        self.received = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/page"


def probe_body(n: int) -> bytes:
    """One critical alert of a group of its own: a new incident that pages at once."""
    now = datetime.now(UTC)
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "tocsin",
            "groupKey": f"probe-{n}",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": f"Probe{n}",
                        "service": "probe",
                        "severity": "critical",
                    },
                    "annotations": {"summary": f"Probe {n}"},
                    "startsAt": f"{now:%Y-%m-%dT%H:%M:%S.%f}Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"{n:016x}",
                }
            ],
        }
    ).encode()


def who_is_on_call_timing() -> tuple[float, float]:
    """Microseconds per call, median and worst of 2,000 random instants over a year."""
    from oncall import schedules

    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rng = random.Random(3)
    layers = (
        schedules.Layer(
            id=1,
            level=1,
            participants=(1, 2, 3, 4),
            rotation_start=start,
            shift_length=schedules.ShiftLength.WEEKLY,
            time_zone="Europe/London",
        ),
        schedules.Layer(
            id=2,
            level=2,
            participants=(5, 6),
            rotation_start=start,
            shift_length=schedules.ShiftLength.DAILY,
            time_zone="America/Chicago",
            restrictions=(
                schedules.Restriction(
                    start=datetime.min.time().replace(hour=9),
                    end=datetime.min.time().replace(hour=17),
                    weekdays=frozenset({0, 1, 2, 3, 4}),
                ),
            ),
        ),
        schedules.Layer(
            id=3,
            level=3,
            participants=(7, 8, 9),
            rotation_start=start,
            shift_length=schedules.ShiftLength.HOURS,
            shift_hours=12,
            time_zone="Australia/Lord_Howe",
            restrictions=(
                schedules.Restriction(
                    start=datetime.min.time().replace(hour=22),
                    end=datetime.min.time().replace(hour=6),
                ),
            ),
        ),
    )
    overrides = []
    for n in range(100):
        begins = start + timedelta(hours=rng.uniform(0, 24 * 365))
        overrides.append(
            schedules.Override(
                id=n + 1,
                user_id=10 + n % 5,
                start=begins,
                end=begins + timedelta(hours=rng.uniform(1, 48)),
            )
        )
    spec = schedules.ScheduleSpec(id=1, time_zone="UTC", layers=layers, overrides=tuple(overrides))
    samples = []
    for _ in range(2000):
        at = start + timedelta(seconds=rng.uniform(0, 365 * 86400))
        began = time.perf_counter()
        schedules.who_is_on_call(spec, at)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1e6, max(samples) * 1e6


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_PAGING_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_PAGING_REDIS_URL", DEFAULT_REDIS_URL)
    # The on-call people's webhook receiver listens on loopback, here and in the workers.
    os.environ["WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED"] = "1"
    configure(url, redis_url)

    median_us, worst_us = who_is_on_call_timing()
    print(
        f"who_is_on_call, 3 layers + 100 overrides: median {median_us:.0f} µs, "
        f"worst {worst_us:.0f} µs of 2,000 calls (budget < 5 ms: "
        f"{'met' if worst_us < 5000 else 'MISSED'})",
        flush=True,
    )

    create_and_migrate(url)
    import redis
    from django.db import connection

    from accounts.actors import SYSTEM
    from accounts.models import User
    from incidents.models import Team
    from oncall.models import ContactKind
    from oncall.services import contacts, policies

    receiver = Receiver()
    team = Team.objects.create(name="Platform", slug="platform")
    first, second = (User.objects.create(username=name) for name in ("first", "second"))
    for user in (first, second):
        contacts.contact_method_add(user=user, kind=ContactKind.WEBHOOK, address=receiver.url)
    policy = policies.policy_save(
        actor=SYSTEM,
        name="Platform",
        team=team,
        levels=[
            policies.LevelSpec(
                delay=timedelta(seconds=args.level_delay),
                users=[first],
                schedules=[],
                lead_teams=[],
            ),
            policies.LevelSpec(
                delay=timedelta(minutes=30), users=[second], schedules=[], lead_teams=[]
            ),
        ],
    )
    # The load's own integration, for another team that nobody is on call for: its
    # incidents are declared and recorded but page no one, as in the ingest benchmark.
    load_team = Team.objects.create(name="Load", slug="load")
    _, load_token = uncapped_alertmanager(load_team, "Prometheus (load)")
    # One incident per probe: the storm cap would fold probes into one storm incident.
    integration, token = uncapped_alertmanager(team, "Prometheus")
    integration.escalation_policy = policy
    integration.save(update_fields=["escalation_policy"])
    redis.Redis.from_url(redis_url).flushdb()
    connection.close()

    port = free_port()
    plan = Plan(seed=args.seed, base=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    bodies = [plan.body() for _ in range(round(args.rate * args.seconds))]
    requests = [request_bytes(WEBHOOK_PATH, b, port=port, token=load_token) for b in bodies]
    probes = [
        request_bytes(WEBHOOK_PATH, probe_body(n), port=port, token=token)
        for n in range(round(args.probes * args.seconds))
    ]

    workdir = Path(tempfile.mkdtemp(prefix="bench-paging-"))
    env = production_env(url, redis_url, BASE_URL=f"http://127.0.0.1:{port}")
    print(f"Starting gunicorn, a Celery worker ({args.celery_concurrency} threads) and beat")
    server = start_gunicorn(
        args, port=port, database_url=url, redis_url=redis_url, log=workdir / "gunicorn.log"
    )
    threads = args.celery_concurrency
    pager = celery_worker(
        "paging", "--hostname=pager@%h", threads=threads, env=env, log=workdir / "pager.log"
    )
    worker = celery_worker("celery", threads=threads, env=env, log=workdir / "worker.log")
    beat = celery_beat(env, workdir)
    try:
        time.sleep(5)  # the worker and beat connect
        print(f"Load: {len(requests):,} webhook requests at {args.rate:.0f}/s", flush=True)
        print(f"  and {len(probes)} probe alerts at {args.probes:.0f}/s that page", flush=True)

        async def both() -> list[Any]:
            return list(
                await asyncio.gather(
                    open_loop(
                        "webhook", requests, port=port, rate=args.rate, accept=webhook_accepted
                    ),
                    # One connection: idle ones would each hold a gunicorn thread for 5 s.
                    open_loop(
                        "probes",
                        probes,
                        port=port,
                        rate=args.probes,
                        warm=1,
                        accept=lambda status, body: status == 200,
                    ),
                )
            )

        run, _ = asyncio.run(both())
        print(
            f"  webhook p50 {run.percentile(0.5):.0f} ms, p99 {run.percentile(0.99):.0f} ms, "
            f"{len(run.failures)} failures",
            flush=True,
        )
        settle = args.level_delay + 15
        print(f"Waiting {settle} s for the last pages and escalations", flush=True)
        time.sleep(settle)
    finally:
        stop_processes([worker, pager, beat])
        stop_gunicorn(server)

    from django.db.models import Min

    from alerts.models import Alert
    from incidents.models import Incident
    from oncall.models import DeliveryAttempt, Notification
    from oncall.selectors import PAGING_SEVERITIES

    received = dict(
        Alert.objects.filter(incident__isnull=False, integration=integration)
        .values("incident")
        .annotate(first=Min("first_seen_at"))
        .values_list("incident", "first")
    )
    handed = dict(
        DeliveryAttempt.objects.values("notification__incident")
        .annotate(first=Min("started_at"))
        .values_list("notification__incident", "first")
    )
    incidents = Incident.objects.count()
    # The probes' incidents: the load's own are declared for a team nobody is on call for.
    probes_sent = len(probes)
    paging = set(
        Incident.objects.filter(
            severity__paging__in=PAGING_SEVERITIES, alerts__integration=integration
        ).values_list("pk", flat=True)
    )
    to_notifier = [
        (handed[pk] - received[pk]).total_seconds() * 1000
        for pk in paging
        if pk in handed and pk in received
    ]
    unpaged = len(paging) - len(to_notifier)
    level_one = dict(
        Notification.objects.filter(level_index=0).values_list("incident", "created_at")
    )
    delay = timedelta(seconds=args.level_delay)
    lateness = [
        (created - (level_one[pk] + delay)).total_seconds() * 1000
        for pk, created in Notification.objects.filter(level_index=1).values_list(
            "incident", "created_at"
        )
        if pk in level_one
    ]
    p99_first = p99(to_notifier) if to_notifier else None
    p99_late = p99(lateness) if lateness else None
    print(
        f"\n{incidents} incidents declared; {probes_sent} probes sent, {len(paging)} of them "
        f"became incidents by the end; {receiver.received} pages reached the receiver"
    )
    print(f"alert received → first notification handed to its notifier: {percentiles(to_notifier)}")
    print(
        f"  probe incidents never paged: {unpaged}; "
        f"probes not yet incidents at the end: {probes_sent - len(paging)}"
    )
    print(f"escalation to level 2, lateness after its due time: {percentiles(lateness)}")
    verdict = []
    verdict.append(
        "first page p99 < 2 s: "
        + (
            "met"
            if p99_first is not None
            and p99_first < 2000
            and not unpaged
            and len(paging) == probes_sent
            else "MISSED"
        )
    )
    verdict.append(
        "escalation lateness p99 < 2 s: "
        + ("met" if p99_late is not None and p99_late < 2000 else "MISSED")
    )
    print("; ".join(verdict))
    print(f"logs in {workdir}")
    connection.close()
    if not args.keep:
        drop_database(url)
    return 0 if p99_first is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
