"""A clean machine's production install, made as the Dockerfile and the README make it: a fresh
virtualenv, `pip install -c constraints.txt .` with no dev extras, then web, worker, pager and
beat from that virtualenv on real PostgreSQL and Redis, with production settings.

The dev virtualenv cannot see a dependency that only a dev extra brings in: kombu's Redis
transport imports `packaging`, which pytest brought, so every Celery process of a production
install died at start while the suite stayed green. This install has nothing but the project's
own dependencies (pip's cache keeps it quick; a clean CI machine fetches them from PyPI).
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from tests.harness import PrivateRedis, answers, free_port, wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# What the Dockerfile copies before `pip install`: the code itself runs from the source tree.
INSTALL_FILES = ("pyproject.toml", "README.md", "constraints.txt")
READY_TIMEOUT = 60.0
HOST = socket.gethostname()


def clean_environ() -> dict[str, str]:
    # Nothing of the dev virtualenv or the test settings may leak into the install or the processes.
    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL", "REDIS_URL"}
        and not key.startswith("DJANGO_")
    }


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("install")
    for name in INSTALL_FILES:
        shutil.copy(ROOT / name, build / name)
    subprocess.run([sys.executable, "-m", "venv", str(build / "venv")], check=True, timeout=120)
    python = build / "venv" / "bin" / "python"
    # --no-compile: bytecode is written at first import instead, and the install takes a third
    # less time; which packages are there is what this module is about.
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pip.append("--no-compile")
    result = subprocess.run(
        [*pip, "-c", "constraints.txt", "."],
        cwd=build,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build / "venv"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of this module's own: migrated by the install, dropped afterwards."""
    admin = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tocsin"))
    # A pytest-xdist worker's own, as its test database is.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = f"{admin.path.lstrip('/') or 'tocsin'}_install" + (f"_{worker}" if worker else "")
    server = admin._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin._replace(path=f"/{name}").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Install:
    """The production processes, each started from the install's bin/ in its own session."""

    def __init__(self, venv: Path, workdir: Path, env: dict[str, str], web_url: str) -> None:
        self.bin = venv / "bin"
        self.workdir = workdir
        self.env = env
        self.web_url = web_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, name: str, *args: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [str(self.bin / args[0]), *args[1:]],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def alive(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
        return True

    def wait_for_line(self, name: str, *parts: str) -> None:
        """Until a line of the process's log holds every part."""

        def logged() -> bool:
            lines = self.log(name).splitlines()
            return self.alive(name) and any(all(p in line for p in parts) for line in lines)

        wait_until(logged, timeout=READY_TIMEOUT, what=f"{name} to log {parts}")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def install(
    venv: Path, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Install]:
    workdir = tmp_path_factory.mktemp("production")
    redis = PrivateRedis(workdir)
    redis.start()
    port = free_port()
    env = {
        **clean_environ(),
        "TOCSIN_PRODUCTION": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database,
        "REDIS_URL": redis.url,
        "ALLOWED_HOSTS": "tocsin.example.com",
        "BASE_URL": "https://tocsin.example.com",
        # Nothing creates it on a production install (PostgreSQL and Redis keep everything).
        "TOCSIN_DATA_DIR": str(workdir / "data-not-created"),
        "PYTHONUNBUFFERED": "1",
        # Celery's per-task lines, to see beat send the tick and the workers run it.
        "TASK_LOG_LEVEL": "INFO",
    }
    stack = Install(venv, workdir, env, web_url=f"http://127.0.0.1:{port}")
    try:
        migrated = stack.run("python", "manage.py", "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        # The commands of docker-compose.yml and the README's systemd units, smaller.
        stack.start(
            "web",
            "gunicorn",
            "config.wsgi",
            "--config=python:config.gunicorn",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            "--threads=2",
            "--no-control-socket",
        )
        stack.start(
            "worker",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues=celery",
            "--hostname=worker@%h",
            "--concurrency=1",
            "--loglevel=INFO",
        )
        stack.start(
            "pager",
            "celery",
            "-A",
            "config",
            "worker",
            "--queues=paging",
            "--hostname=pager@%h",
            "--pool=threads",
            "--concurrency=2",
            "--loglevel=INFO",
        )
        stack.start(
            "beat", "celery", "-A", "config", "beat", "--loglevel=INFO", "--enable-remote-control"
        )
        stack.wait_for_line("worker", f"worker@{HOST} ready.")
        stack.wait_for_line("pager", f"pager@{HOST} ready.")
        yield stack
    finally:
        stack.stop()
        redis.stop()


def test_the_install_holds_no_dev_extras(venv):
    # Otherwise a dependency only a dev tool brings in would hide here as well.
    probe = "import importlib.util as u; print([m for m in ('pytest', 'mypy') if u.find_spec(m)])"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# Every module of ours, not only those a process imports at start: a notifier, a feed or a
# management command that needs a package only a dev tool brings in fails here, not in production.
IMPORT_EVERY_MODULE = """
import importlib, os, pkgutil, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
for package in ("config", "accounts", "incidents", "alerts", "ops", "oncall"):
    for info in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
        if info.name != "config.test_settings":
            importlib.import_module(info.name)
"""


def test_every_module_of_the_project_imports_in_the_install(install):
    result = install.run("python", "-c", IMPORT_EVERY_MODULE)

    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def pings(install: Install) -> str:
    """`celery inspect ping` from the install, as compose's health checks and the README ask."""
    nodes = ",".join(f"{name}@{HOST}" for name in ("worker", "pager", "celerybeat"))
    install.wait_for_line("beat", "beat: Starting...")
    result = install.run("celery", "-A", "config", "inspect", "ping", "--destination", nodes)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_worker_answers_a_ping(pings):
    assert f"worker@{HOST}: OK" in pings


def test_the_pager_answers_a_ping_under_its_own_node_name(pings):
    assert f"pager@{HOST}: OK" in pings


def test_beat_answers_a_ping(pings):
    assert f"celerybeat@{HOST}: OK" in pings


def test_beat_sends_the_paging_tick_and_the_pager_runs_it(install):
    install.wait_for_line("beat", "Sending due task oncall-tick (oncall.tasks.tick)")
    # The tick reads the escalations in PostgreSQL: a success went all the way through.
    install.wait_for_line("pager", "Task oncall.tasks.tick[", "succeeded")
    assert not Path(install.env["TOCSIN_DATA_DIR"]).exists(), "beat needs no data directory"


def test_beat_sends_the_alert_sweep_and_the_worker_runs_it(install):
    install.wait_for_line("beat", "Sending due task sweep-pending-alerts")
    install.wait_for_line("worker", "Task alerts.tasks.sweep_pending_alerts[", "succeeded")


def test_gunicorn_serves_healthz_and_readyz(install):
    wait_until(
        lambda: install.alive("web") and answers(f"{install.web_url}/healthz"),
        timeout=READY_TIMEOUT,
        what="gunicorn to serve /healthz",
    )
    ready = requests.get(f"{install.web_url}/readyz", timeout=10)

    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": True}


def test_the_whole_installation_is_ready_once_beat_and_each_queue_beat(install):
    # The heartbeats of beat, of the worker (queue celery) and of the pager (queue paging).
    wait_until(
        lambda: answers(f"{install.web_url}/readyz?full=1"),
        timeout=READY_TIMEOUT,
        what="/readyz?full=1 to see the broker and fresh heartbeats of beat and both queues",
    )
    checks = requests.get(f"{install.web_url}/readyz?full=1", timeout=10).json()["checks"]

    assert checks == {
        "database": True,
        "broker": True,
        "heartbeat:beat:beat": True,
        "heartbeat:queue:celery": True,
        "heartbeat:queue:paging": True,
    }
