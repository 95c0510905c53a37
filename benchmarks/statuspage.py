"""Status page budget (issue 15): during a major outage everyone reloads the status page, so
`/status/` and `/status/api/v2/summary.json` must each serve at least 50 % of the throughput of a
no-op Django view measured in the same run on the same server.

    python -m benchmarks.statuspage                  # 16 clients, 5 rounds of 2,000 requests
    python -m benchmarks.statuspage --clients 64 --rounds 3

A fresh database (BENCH_STATUSPAGE_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/tocsin_bench_statuspage) is created and migrated with the
page the issue names: 30 public services in 6 groups, 90 days of component state history
(outages of every kind, some crossing midnight), 5 active incidents published through the
product's services with three public updates each, and maintenance windows scheduled and in
progress.

gunicorn serves it on loopback with production settings (TOCSIN_PRODUCTION=1, 2 workers x 4
threads) and benchmarks.settings, whose `bench/noop` answers "ok" through the product's
middleware. The public page and its JSON go through a shorter stack (no session, auth or
messages: config.wsgi), so the no-op is also served behind that one (`status/api/bench-noop`),
and the verdict compares with the faster of the two: the stricter floor. Each round drives
the no-op views, the page and summary.json in closed loop (N keep-alive
clients, as fast as they go), in that order; the verdict takes the median of the rounds'
ratios. The requests are a browser's first visit: no validator, and `Accept-Encoding: gzip,
deflate, br` (every browser sends it; the page is kept compressed). Printed after, for what
they cost: the same without Accept-Encoding (curl, most bots) and with If-None-Match (a
browser reloading, answered 304). Every answer must be a 200 (or 304)
with the body expected: a cached page that lost its incidents would be fast and wrong.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.harness import (
    Connection,
    add_gunicorn_arguments,
    configure,
    cpu_times,
    cpu_used,
    create_and_migrate,
    database_name,
    drop_database,
    free_port,
    percentile,
    start_gunicorn,
    stop_gunicorn,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_statuspage"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
RATIO_BUDGET = 0.5
NOOP_PATH = "/bench/noop"
# The no-op again, behind the public page's own short middleware stack (config.wsgi).
PUBLIC_NOOP_PATH = "/status/api/bench-noop"
PAGE_PATH = "/status/"
SUMMARY_PATH = "/status/api/v2/summary.json"

GROUPS = ["Payments", "Accounts", "Storefront", "Delivery", "Data", "Platform"]
SERVICES_PER_GROUP = 5
HISTORY_DAYS = 90
ACTIVE_INCIDENTS = 5
UPDATES_PER_INCIDENT = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="keep-alive clients")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds")
    parser.add_argument("--requests", type=int, default=2000, help="requests per path a round")
    parser.add_argument("--warmup", type=int, default=500, help="warm-up requests per path")
    add_gunicorn_arguments(parser, more_help="more gunicorn arguments")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


BROWSER = {"Accept-Encoding": "gzip, deflate, br"}


def get_bytes(path: str, *, port: int, headers: dict[str, str] | None = None) -> bytes:
    head = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: bench/1"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode()


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: list[str]
    server_cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


async def closed_loop(
    label: str,
    request: bytes,
    count: int,
    *,
    port: int,
    clients: int,
    expect_status: int,
    expect_in_body: bytes,
) -> tuple[int, float, list[float], list[str]]:
    connections = [await Connection.open(port) for _ in range(clients)]
    remaining = count
    latencies: list[float] = []
    failures: list[str] = []

    async def client(conn: Connection) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status, body = await conn.send(request)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != expect_status or expect_in_body not in body:
                failures.append(f"{label}: HTTP {status}: {body[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(client(conn) for conn in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return count, elapsed, latencies, failures


def load(now: datetime) -> dict[str, str]:
    """The page the budget names; returns what the answers must contain."""
    import random

    from django.db import transaction

    from accounts.models import Role, User
    from incidents import services as incidents
    from incidents.models import Service, Severity, Team
    from statuspage.models import (
        Component,
        ComponentGroup,
        ComponentState,
        ComponentStateChange,
    )
    from statuspage.services import components_sync, states_recompute
    from statuspage.services.maintenance import maintenance_schedule
    from statuspage.services.publishing import public_update_post

    rng = random.Random(15)
    comms = User.objects.create_user(
        username="casey", first_name="Casey", last_name="Comms", role=Role.MANAGER
    )
    team = Team.objects.create(name="Platform", slug="platform")
    services = []
    for g, group_name in enumerate(GROUPS):
        group = ComponentGroup.objects.create(name=group_name, position=g)
        for s in range(SERVICES_PER_GROUP):
            name = f"{group_name} service {s + 1}"
            service = Service.objects.create(
                name=name, slug=f"{group_name.lower()}-{s + 1}", team=team, public=True
            )
            services.append((service, group, s))
    components_sync()
    start = now - timedelta(days=HISTORY_DAYS)
    spans = []
    for service, group, position in services:
        component = Component.objects.get(service=service)
        component.group, component.position = group, position
        component.created_at = start
        component.save(update_fields=["group", "position", "created_at"])
        # Up, with an outage every ten days or so of 20 minutes to 6 hours, of any kind.
        ComponentStateChange.objects.filter(component=component).delete()
        at = start
        while True:
            up_until = at + timedelta(hours=rng.uniform(48, 400))
            if up_until >= now - timedelta(hours=1):
                break
            down_until = up_until + timedelta(minutes=rng.uniform(20, 360))
            spans.append(
                ComponentStateChange(
                    component=component,
                    state=ComponentState.OPERATIONAL,
                    started_at=at,
                    ended_at=up_until,
                )
            )
            spans.append(
                ComponentStateChange(
                    component=component,
                    state=rng.choice(
                        [
                            ComponentState.MAJOR_OUTAGE,
                            ComponentState.PARTIAL_OUTAGE,
                            ComponentState.DEGRADED_PERFORMANCE,
                            ComponentState.UNDER_MAINTENANCE,
                        ]
                    ),
                    started_at=up_until,
                    ended_at=down_until,
                )
            )
            at = down_until
        spans.append(
            ComponentStateChange(
                component=component, state=ComponentState.OPERATIONAL, started_at=at
            )
        )
        Component.objects.filter(pk=component.pk).update(
            state=ComponentState.OPERATIONAL, state_since=at
        )
    ComponentStateChange.objects.bulk_create(spans)

    severities = list(Severity.objects.order_by("rank")[:3])
    titles = []
    for i in range(ACTIVE_INCIDENTS):
        affected = [services[(i * 7 + k) % len(services)][0] for k in range(2)]
        with transaction.atomic():
            incident = incidents.incident_declare(
                actor=comms,
                title=f"Internal: incident {i + 1} on {affected[0].name}",
                severity=severities[i % len(severities)],
                services=affected,
                team=team,
            )
        title = f"Elevated errors on {affected[0].name}"
        titles.append(title)
        for u in range(UPDATES_PER_INCIDENT):
            public_update_post(
                incident=incident,
                actor=comms,
                message=f"Update {u + 1}: we are working on {affected[0].name}.",
                name=title,
            )
    maintenance_schedule(
        actor=comms,
        name="Database upgrade",
        message="We are upgrading the primary database.",
        scheduled_for=now + timedelta(days=2),
        scheduled_until=now + timedelta(days=2, hours=2),
        components=[Component.objects.get(service=services[3][0])],
    )
    states_recompute(now=now)
    return {"page": titles[-1], "summary": titles[-1]}


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_STATUSPAGE_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_STATUSPAGE_REDIS_URL", DEFAULT_REDIS_URL)
    configure(url, redis_url)
    create_and_migrate(url)
    import redis
    from django.db import connection

    broker = redis.Redis.from_url(redis_url)
    broker.flushdb()
    now = datetime.now(UTC)
    started = time.perf_counter()
    expected = load(now)
    print(
        f"  {len(GROUPS) * SERVICES_PER_GROUP} components in {len(GROUPS)} groups, "
        f"{HISTORY_DAYS} days of history, {ACTIVE_INCIDENTS} active incidents "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    connection.close()

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-statuspage-")) / "gunicorn.log"
    print(
        f"Starting gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads"
        f" (production settings; log {log})",
        flush=True,
    )
    server = start_gunicorn(args, port=port, database_url=url, redis_url=redis_url, log=log)
    database = database_name(url)
    plain = {
        "no-op view": (NOOP_PATH, b"ok"),
        "no-op, public stack": (PUBLIC_NOOP_PATH, b"ok"),
        "/status/": (PAGE_PATH, expected["page"].encode()),
        "summary.json": (SUMMARY_PATH, expected["summary"].encode()),
    }
    runs: dict[str, list[Run]] = {label: [] for label in plain}
    failures: list[str] = []
    try:
        print("  load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

        def measure(label: str, request: bytes, count: int, status: int, needle: bytes) -> Run:
            before = cpu_times(server_pid=server.pid, database=database)
            done, seconds, latencies, failed = asyncio.run(
                closed_loop(
                    label,
                    request,
                    count,
                    port=port,
                    clients=args.clients,
                    expect_status=status,
                    expect_in_body=needle,
                )
            )
            failures.extend(failed)
            used = cpu_used(before, cpu_times(server_pid=server.pid, database=database))
            return Run(label, done, seconds, latencies, failed, used)

        for label, (path, _) in plain.items():
            measure(label, get_bytes(path, port=port, headers=BROWSER), args.warmup, 200, b"")
        for r in range(args.rounds):
            for label, (path, _) in plain.items():
                request = get_bytes(path, port=port, headers=BROWSER)
                # A compressed body is checked whole once (below), not on every answer.
                runs[label].append(measure(label, request, args.requests, 200, b""))
            print(f"  round {r + 1}: done", flush=True)
        check_bodies(plain, port=port)
        revalidated = {}
        for label, (path, needle) in plain.items():
            if path in (NOOP_PATH, PUBLIC_NOOP_PATH):
                continue
            request = get_bytes(path, port=port)
            revalidated[f"{label} (identity)"] = measure(
                f"{label} (identity)", request, args.requests, 200, needle
            )
            etag = etag_of(path, port=port)
            request = get_bytes(path, port=port, headers={**BROWSER, "If-None-Match": etag})
            revalidated[f"{label} (304)"] = measure(
                f"{label} (304)", request, args.requests, 304, b""
            )
        print("  load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        stop_gunicorn(server)
        if not args.keep:
            drop_database(url)
    return report(runs, revalidated, failures)


def check_bodies(expected: dict[str, tuple[str, bytes]], *, port: int) -> None:
    """Each path's compressed answer, decompressed, holds what it must."""
    import gzip
    import http.client

    for label, (path, needle) in expected.items():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=BROWSER)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if response.status != 200 or needle not in body:
            raise SystemExit(f"{label}: HTTP {response.status}, {needle!r} not in the body")


def etag_of(path: str, *, port: int) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    etag = response.getheader("ETag")
    conn.close()
    if not etag:
        raise SystemExit(f"{path} sent no ETag")
    return etag


def describe(run: Run) -> str:
    cpu = sum(run.server_cpu.values()) / run.requests * 1000
    return (
        f"{run.label:<26} {run.rate:8.0f} req/s  p50 {run.percentile(0.5):6.1f} ms  "
        f"p99 {run.percentile(0.99):6.1f} ms  server CPU {cpu:5.2f} ms/request"
    )


def report(runs: dict[str, list[Run]], revalidated: dict[str, Run], failures: list[str]) -> int:
    print()
    for label_runs in runs.values():
        for run in label_runs:
            print("  " + describe(run))
    for run in revalidated.values():
        print("  " + describe(run))
    floors = [
        max(full, public, key=lambda run: run.rate)
        for full, public in zip(runs["no-op view"], runs["no-op, public stack"], strict=True)
    ]
    ok = not failures
    print()
    for label in ("/status/", "summary.json"):
        ratios = [ours.rate / floor.rate for ours, floor in zip(runs[label], floors, strict=True)]
        median = statistics.median(ratios)
        verdict = "within" if median >= RATIO_BUDGET else "OVER"
        print(
            f"{label}: median {median:.0%} of the faster no-op view's throughput "
            f"(rounds {', '.join(f'{r:.0%}' for r in ratios)}; budget >= {RATIO_BUDGET:.0%}): "
            f"{verdict} budget"
        )
    if failures:
        print(f"\n{len(failures)} unexpected answers, e.g.:")
        for failure in failures[:5]:
            print("  " + failure)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
