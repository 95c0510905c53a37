"""What the benchmarks share: their databases, the servers they start, the HTTP load they drive,
and the timing and CPU figures they print."""

import argparse
import asyncio
import http.client
import os
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def configure(url: str, redis_url: str) -> None:
    """Point Django at the benchmark database; must run before settings are imported."""
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")


def configure_in_process(url: str) -> None:
    """configure() for a benchmark that measures in this process, with no server or broker;
    must run before settings are imported."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Sessions, the cache and the broker stay off disk and off a shared Redis db.
    os.environ.pop("REDIS_URL", None)
    # WhiteNoise would warn on every start that DATA_DIR/static was never collected.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")


# -- databases ------------------------------------------------------------------------------


def database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    import psycopg

    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database_name(url)}"')


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def create_and_migrate(url: str, *, also: str = "") -> None:
    """A fresh database at `url`, Django set up on it and the schema migrated; configure()
    has run. `also` ends the line this prints."""
    print(f"Creating {database_name(url)} and migrating{also}", flush=True)
    recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark aborted: {message}")


@contextmanager
def step(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {label:<48} {time.perf_counter() - started:6.1f} s", flush=True)


def run_sql(label: str, sql: str, params: dict[str, Any]) -> None:
    from django.db import connection

    with step(label), connection.cursor() as cursor:
        cursor.execute(sql, params)


# -- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def add_gunicorn_arguments(parser: argparse.ArgumentParser, *, more_help: str = "") -> None:
    """The options start_gunicorn() reads; --gunicorn-args is listed only with `more_help`."""
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--gunicorn-args", default="", help=more_help or argparse.SUPPRESS)


def start_gunicorn(
    args: argparse.Namespace,
    *,
    port: int,
    database_url: str,
    redis_url: str,
    log: Path,
    secret_key: str = "",
) -> subprocess.Popen[bytes]:
    """`secret_key`: the one the caller signed sessions with (benchmarks.live), else random."""
    env = {
        **os.environ,
        "TOCSIN_PRODUCTION": "1",
        "SECRET_KEY": secret_key or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        # Backends that outlive the run keep the CPU accounting whole (the default, 60 s,
        # would replace them mid-run); one reconnection a minute per thread is no load.
        "CONN_MAX_AGE": "600",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        # As production runs it: multiprocess metrics and the redacting access logger.
        "--config=python:config.gunicorn",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        # Longer than the open loop's idle gaps, so no request races a keep-alive close.
        "--keep-alive=75",
        "--no-control-socket",
        "--graceful-timeout=5",
        f"--error-logfile={log}",
        *shlex.split(args.gunicorn_args),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        time.sleep(0.2)
    stop_gunicorn(server)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log}")


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def production_env(url: str, redis_url: str, **more: str) -> dict[str, str]:
    """The environment of Celery workers and beat: ours, with production settings on the
    benchmark's database and broker."""
    return {
        **os.environ,
        "TOCSIN_PRODUCTION": "1",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **more,
    }


def celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def celery_worker(
    queue: str, *more: str, threads: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    command = [
        "worker",
        f"--queues={queue}",
        *more,
        "--pool=threads",
        f"--concurrency={threads}",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]
    return celery(command, env, log)


def celery_beat(env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    return celery(
        ["beat", f"--schedule={workdir / 'beat-schedule'}", "--loglevel=WARNING"],
        env,
        workdir / "beat.log",
    )


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask them all to stop first, so they wind down together; kill whoever takes over 20 s."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# -- HTTP load ------------------------------------------------------------------------------


def request_bytes(
    path: str,
    body: bytes,
    *,
    port: int,
    token: str = "",
    user_agent: str = "Alertmanager/0.25.0",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"User-Agent: {user_agent}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, data: bytes) -> tuple[int, bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    cpu_seconds: float
    failures: list[str]
    connections: int = 0
    server_cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


Accept = Callable[[int, bytes], bool]


async def closed_loop(
    label: str, requests: list[bytes], *, port: int, clients: int, accept: Accept
) -> Run:
    """`clients` keep-alive connections, each sending its next request once answered.

    `accept(status, body)` says whether an answer counts as accepted."""
    connections = [await Connection.open(port) for _ in range(clients)]
    pending = iter(requests)
    latencies: list[float] = []
    failures: list[str] = []

    async def client(conn: Connection) -> None:
        for data in pending:
            started = time.perf_counter()
            status, body = await conn.send(data)
            latencies.append((time.perf_counter() - started) * 1000)
            if not accept(status, body):
                failures.append(f"HTTP {status}: {body[:300]!r}")

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(conn) for conn in connections))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    for conn in connections:
        conn.close()
    return Run(label, len(requests), elapsed, latencies, cpu, failures, clients)


async def open_loop(
    label: str,
    requests: list[bytes],
    *,
    port: int,
    rate: float,
    accept: Accept,
    most: int = 256,
    warm: int = 16,
) -> Run:
    """Each request is due at start + i/rate; latency counts from then, whatever held it up.

    `accept(status, body)` says whether an answer counts as accepted.

    Up to `most` connections, like a sender with that many deliveries in flight; beyond that,
    due requests wait for a connection, and that wait counts too. `warm` of them are opened
    before the clock starts; no more than the load keeps busy, as gunicorn's gthread worker
    gives a new connection a thread until its first request arrives (up to 5 s).
    """
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened: list[Connection] = []
    latencies: list[float] = []
    failures: list[str] = []

    async def one(data: bytes, due: float) -> None:
        if idle.empty() and len(opened) < most:
            conn = await Connection.open(port)
            opened.append(conn)
        else:
            conn = await idle.get()
        status, body = await conn.send(data)
        latencies.append((loop.time() - due) * 1000)
        idle.put_nowait(conn)
        if not accept(status, body):
            failures.append(f"HTTP {status}: {body[:300]!r}")

    # Enough connections for the expected concurrency, opened before the clock starts.
    for _ in range(warm):
        conn = await Connection.open(port)
        opened.append(conn)
        idle.put_nowait(conn)
    cpu, start = time.process_time(), loop.time() + 0.05
    tasks = []
    for i, data in enumerate(requests):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(data, due)))
    await asyncio.gather(*tasks)
    elapsed, cpu = loop.time() - start, time.process_time() - cpu
    for conn in opened:
        conn.close()
    return Run(label, len(requests), elapsed, latencies, cpu, failures, len(opened))


# -- timing and CPU -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value at least a share p of them reach."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(len(ordered) * p) - 1))]


def p99(values: list[float]) -> float:
    """The 99th percentile as the paging and Slack budgets have always read it: the value
    at index int(0.99 n), one rank above the nearest-rank one for most n."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    return (
        f"n={len(values)}  p50 {statistics.median(ordered):.0f} ms  p99 {p99(ordered):.0f} ms"
        f"  max {ordered[-1]:.0f} ms"
    )


def _stat_fields(stat: str) -> list[str]:
    """/proc/<pid>/stat after the command's name: [0] state, [1] parent, [11] utime,
    [12] stime (the name, in parentheses, may hold spaces)."""
    return stat[stat.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu(pid: int) -> float | None:
    """Seconds of CPU a process on this machine has used (user and system), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return _cpu_seconds(_stat_fields(stat))


def cpu_times(*, server_pid: int, database: str) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by gunicorn's workers and by the database's backends, per pid."""
    found: dict[str, dict[int, float]] = {"gunicorn": {}, "postgres": {}}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = _stat_fields(stat)
        if int(fields[1]) == server_pid:
            found["gunicorn"][int(entry.name)] = _cpu_seconds(fields)
        elif cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
            found["postgres"][int(entry.name)] = _cpu_seconds(fields)
    return found


def cpu_used(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
) -> dict[str, float]:
    return {
        role: sum(seconds - before[role].get(pid, 0.0) for pid, seconds in pids.items())
        for role, pids in after.items()
    }
