"""Live updates' cost: the server load of 50 open incident pages following one incident.

    python -m benchmarks.live                    # 50 pages, 30 s per scenario
    python -m benchmarks.live --pages 200 --seconds 60

Each open incident page polls GET /incidents/<n>/live/ every LIVE_INCIDENT_SECONDS (3 s) with
the version it shows as If-None-Match; the server answers 304 with no body while the incident
is unchanged, and the page's changing parts when it changed. This starts gunicorn with
production settings (TOCSIN_PRODUCTION=1, 2 workers x 4 threads, as benchmarks.ingest does) on
a fresh database (BENCH_LIVE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/tocsin_live_bench)
holding one incident with a commander and 60 timeline entries, and drives `--pages` simulated
pages, each its own signed-in keep-alive connection, their first polls spread over one interval.

Three scenarios, each `--seconds` long:
- quiet: nobody changes the incident; every poll is a 304;
- busy: someone adds a note every `--change-every` seconds (through the service, in this
  process), so each page fetches the changed parts once per change;
- no version: the same pages fetch the changed parts on every poll (no If-None-Match), what
  polling would cost without the version check.

Printed per scenario: requests/s, how many were 304, latency p50/p99, and the server CPU
(gunicorn's workers plus the database's backends, from /proc, as benchmarks.ingest measures
it) per second of wall time, in % of one core, and per request.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import (
    add_gunicorn_arguments,
    configure,
    cpu_times,
    cpu_used,
    create_and_migrate,
    database_name,
    drop_database,
    free_port,
    start_gunicorn,
    stop_gunicorn,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_live_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
TIMELINE_ENTRIES = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50, help="open incident pages")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each scenario")
    parser.add_argument(
        "--change-every", type=float, default=10.0, help="seconds between notes (busy)"
    )
    add_gunicorn_arguments(parser, more_help="more gunicorn arguments")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


@dataclass
class Scenario:
    label: str
    seconds: float = 0.0
    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    bytes_received: int = 0
    server_cpu: dict[str, float] = field(default_factory=dict)
    changes: int = 0

    @property
    def requests(self) -> int:
        return len(self.statuses)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * p) - 1))]

    def row(self) -> str:
        cpu = sum(self.server_cpu.values())
        not_modified = sum(1 for s in self.statuses if s == 304)
        failed = sum(1 for s in self.statuses if s not in (200, 304))
        return (
            f"{self.label:<12} {self.requests:>8} {self.requests / self.seconds:>7.1f}"
            f" {not_modified:>7} {failed:>6} {self.bytes_received / self.requests / 1024:>8.1f}"
            f" {self.percentile(0.5):>7.1f} {self.percentile(0.99):>7.1f}"
            f" {100 * self.server_cpu['gunicorn'] / self.seconds:>9.1f}"
            f" {100 * self.server_cpu['postgres'] / self.seconds:>9.1f}"
            f" {100 * cpu / self.seconds:>8.1f} {1000 * cpu / self.requests:>8.2f}"
        )


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def page(
    scenario: Scenario,
    *,
    port: int,
    path: str,
    cookie: str,
    etag: str,
    interval: float,
    offset: float,
    until: float,
    conditional: bool,
) -> None:
    """One open incident page: a poll every `interval`, sending the version it last got."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = loop.time() + offset
    try:
        while due < until:
            await asyncio.sleep(max(0.0, due - loop.time()))
            head = [
                f"GET {path} HTTP/1.1",
                f"Host: 127.0.0.1:{port}",
                "HX-Request: true",
                f"Cookie: sessionid={cookie}",
            ]
            if conditional:
                head.append(f"If-None-Match: {etag}")
            started = loop.time()
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
            status, headers, body = await read_response(reader)
            scenario.latencies_ms.append((loop.time() - started) * 1000)
            scenario.statuses.append(status)
            scenario.bytes_received += len(body)
            etag = headers.get("etag", etag)
            # As htmx's `every`: the next poll is an interval after this one's answer.
            due = loop.time() + interval
    finally:
        writer.close()


def changer(incident_id: int, actor_id: int, every: float, stop: threading.Event) -> int:
    """Someone adds a note every `every` seconds, through the service; returns how many."""
    from accounts.models import User
    from incidents import services
    from incidents.models import Incident

    actor = User.objects.get(pk=actor_id)
    made = 0
    while not stop.wait(every):
        incident = Incident.objects.get(pk=incident_id)
        services.incident_add_note(incident=incident, actor=actor, text=f"note {made}")
        made += 1
    return made


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_LIVE_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_LIVE_REDIS_URL", DEFAULT_REDIS_URL)
    configure(url, redis_url)
    # Sessions and their auth hash are signed with it: the server must have the same one.
    secret_key = secrets.token_urlsafe(50)
    os.environ["SECRET_KEY"] = secret_key
    create_and_migrate(url)
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from accounts.models import Role, User
    from incidents import selectors, services
    from incidents.models import RoleKind, Severity
    from incidents.views import LIVE_INCIDENT_SECONDS

    responder = User.objects.create_user(
        username="rosa", first_name="Rosa", last_name="Responder", role=Role.RESPONDER
    )
    incident = services.incident_declare(
        actor=responder,
        title="Checkout is failing",
        severity=Severity.objects.get(name="SEV2"),
        summary="Card payments fail for every customer.",
    )
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
    )
    while incident.timeline.count() < TIMELINE_ENTRIES:
        services.incident_add_note(incident=incident, actor=responder, text="Looking into it.")
    session = SessionStore()
    session[SESSION_KEY] = str(responder.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = responder.get_session_auth_hash()
    session.create()
    cookie = session.session_key or ""
    version = selectors.incident_live_version(user=responder, number=incident.number)
    connection.close()

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-live-")) / "gunicorn.log"
    print(
        f"Starting gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads"
        f" {args.gunicorn_args} (production settings; log {log})",
        flush=True,
    )
    server = start_gunicorn(
        args, port=port, database_url=url, redis_url=redis_url, log=log, secret_key=secret_key
    )
    database = database_name(url)
    path = f"/incidents/{incident.number}/live/"
    interval = float(LIVE_INCIDENT_SECONDS)
    scenarios: list[Scenario] = []

    def run(
        label: str, *, conditional: bool, change_every: float | None, seconds: float = 0.0
    ) -> Scenario:
        scenario = Scenario(label)
        stop = threading.Event()
        made: list[int] = []
        worker = None
        if change_every is not None:
            worker = threading.Thread(
                target=lambda: made.append(changer(incident.pk, responder.pk, change_every, stop))
            )

        async def pages() -> None:
            loop = asyncio.get_running_loop()
            until = loop.time() + (seconds or args.seconds)
            await asyncio.gather(
                *(
                    page(
                        scenario,
                        port=port,
                        path=path,
                        cookie=cookie,
                        etag=f'"{version}"',
                        interval=interval,
                        offset=interval * i / args.pages,
                        until=until,
                        conditional=conditional,
                    )
                    for i in range(args.pages)
                )
            )

        before = cpu_times(server_pid=server.pid, database=database)
        started = time.perf_counter()
        if worker:
            worker.start()
        asyncio.run(pages())
        if worker:
            stop.set()
            worker.join()
        scenario.seconds = time.perf_counter() - started
        scenario.server_cpu = cpu_used(before, cpu_times(server_pid=server.pid, database=database))
        scenario.changes = sum(made)
        print(f"  {label}: done", flush=True)
        return scenario

    try:
        print("  load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        # Warm the workers and their connections: each page's first answer is a full one.
        run("warm-up", conditional=False, change_every=None, seconds=2 * interval)
        version = selectors.incident_live_version(user=responder, number=incident.number)
        scenarios.append(run("quiet", conditional=True, change_every=None))
        scenarios.append(run("busy", conditional=True, change_every=args.change_every))
        version = selectors.incident_live_version(user=responder, number=incident.number)
        scenarios.append(run("no version", conditional=False, change_every=None))
        print("  load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        stop_gunicorn(server)
        connection.close()
        if not args.keep:
            drop_database(url)

    print(
        f"\n{args.pages} incident pages polling {path} every {interval:.0f} s, "
        f"{args.seconds:.0f} s per scenario; gunicorn {args.workers} workers x {args.threads} "
        "threads, production settings"
    )
    print(
        f"{'':<12} {'requests':>8} {'req/s':>7} {'304':>7} {'failed':>6} {'KiB/req':>8}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'gunicorn%':>9} {'postgres%':>9} {'server%':>8}"
        f" {'ms/req':>8}"
    )
    for scenario in scenarios:
        print(scenario.row())
    print(
        "gunicorn%, postgres%, server%: CPU per second of wall time in % of one core (gunicorn's"
        " workers, this database's backends, both); ms/req: server CPU per request"
    )
    quiet, busy = scenarios[:2]
    print(f"busy: {busy.changes} notes added, one every {args.change_every:.0f} s")
    cpu = {s.label: sum(s.server_cpu.values()) / s.seconds for s in scenarios}
    print(
        f"Following one incident from {args.pages} pages costs {quiet.requests / quiet.seconds:.1f}"
        f" requests/s and {100 * cpu['quiet']:.1f} % of one core while it is quiet, "
        f"{100 * cpu['busy']:.1f} % with a note every {args.change_every:.0f} s; "
        f"without the version check {100 * cpu['no version']:.1f} %."
    )
    failures = [s for sc in scenarios for s in sc.statuses if s not in (200, 304)]
    if failures:
        print(f"{len(failures)} polls failed, e.g. HTTP {statistics.mode(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
