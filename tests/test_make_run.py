"""`make run` on a fresh machine: the whole stack from scripts/run, as a user starts it."""

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.cache.backends.filebased import FileBasedCache

from demo.catalog import DEMO_ALERTMANAGER_TOKEN, DEMO_PASSWORD
from ops.tasks import PING_KEY
from tests.harness import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "alerts" / "fixtures" / "alertmanager"
READY_TIMEOUT = 90


def stack_env(data_dir: Path, port: int) -> dict[str, str]:
    """A user's shell: no test settings, no PostgreSQL, no Redis."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.startswith("DJANGO_")
    }
    env.update(TOCSIN_DATA_DIR=str(data_dir), PORT=str(port), HOST="127.0.0.1")
    return env


class Stack:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = stack_env(data_dir, self.port)
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "run")],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"scripts/run exited early:\n{self.output()[-4000:]}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or still loading the app for its first request
            time.sleep(0.5)
        pytest.fail(f"/readyz did not answer 200 in {READY_TIMEOUT} s:\n{self.output()[-4000:]}")

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def stack_processes(data_dir: Path) -> list[int]:
    """Live processes started for this data dir: the environment names it, and it is unique."""
    marker = f"TOCSIN_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # exited while we looked, or not ours to read
        if marker in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / f"data-{uuid.uuid4().hex[:8]}"
    yield path
    # Should the test fail half-way, no stray stack outlives it.
    for pid in stack_processes(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sign_in(session: requests.Session, url: str, username: str) -> requests.Response:
    form = session.get(f"{url}/accounts/login/", timeout=10)
    assert form.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, "the login form carries a CSRF token"
    return session.post(
        f"{url}/accounts/login/",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": token[1],
        },
        timeout=10,
    )


def count_rows(data_dir: Path, table: str) -> int:
    with sqlite3.connect(data_dir / "tocsin.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def wait_for_ping(data_dir: Path, token: str, timeout: float = 30) -> str | None:
    # The same file cache the worker writes to (settings: DATA_DIR/cache without REDIS_URL).
    cache = FileBasedCache(str(data_dir / "cache"), {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = cache.get(PING_KEY.format(token=token))
        if seen is not None:
            return str(seen)
        time.sleep(0.5)
    return None


def test_make_run_serves_demo_runs_tasks_stops_cleanly_and_keeps_data(data_dir, tmp_path):
    stack = Stack(data_dir, tmp_path / "first.log")
    stack.wait_ready()
    assert (data_dir / "tocsin.sqlite3").exists(), "SQLite in TOCSIN_DATA_DIR, not PostgreSQL"

    session = requests.Session()
    response = sign_in(session, stack.url, "responder")
    assert response.status_code == 200
    assert response.url == f"{stack.url}/", "signing in lands on the incident list"
    assert "Elevated error rate on wallet payments" in response.text

    token = uuid.uuid4().hex
    stack.manage("shell", "-c", f"from ops.tasks import ping; ping.delay({token!r})")
    assert wait_for_ping(data_dir, token), "a worker took the task from the filesystem queue"

    firing = json.loads((SAMPLES / "firing.json").read_text())
    delivered = requests.post(
        f"{stack.url}/hooks/alertmanager/",
        json=firing,
        headers={"Authorization": f"Bearer {DEMO_ALERTMANAGER_TOKEN}"},
        timeout=10,
    )
    assert delivered.status_code == 200
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and "CheckoutDown on checkout" not in session.get(f"{stack.url}/", timeout=10).text
    ):
        time.sleep(0.5)
    assert "CheckoutDown on checkout" in session.get(f"{stack.url}/", timeout=10).text, (
        "the worker turned the posted alert into an incident"
    )

    deadline = time.monotonic() + 30
    while DEMO_PASSWORD not in stack.output() and time.monotonic() < deadline:
        time.sleep(0.5)
    output = stack.output()
    assert f"Tocsin is running at {stack.url}/" in output
    assert re.search(r"responder\s+Responder", output)
    assert f"Bearer {DEMO_ALERTMANAGER_TOKEN}" in output

    assert len(stack_processes(data_dir)) >= 4, "scripts/run plus web, worker and beat"
    assert stack.stop() == 130
    time.sleep(1)
    assert stack_processes(data_dir) == [], "Ctrl-C leaves no process behind"

    incidents = count_rows(data_dir, "incidents_incident")
    users = count_rows(data_dir, "accounts_user")
    assert incidents == 42, "41 demo incidents and the one the alert declared"
    assert users == 5

    again = Stack(data_dir, tmp_path / "second.log")
    again.wait_ready()
    assert "Demo data already present" in again.output()
    assert again.stop() == 130
    time.sleep(1)
    assert stack_processes(data_dir) == []
    assert count_rows(data_dir, "incidents_incident") == incidents
    assert count_rows(data_dir, "accounts_user") == users
    assert count_rows(data_dir, "alerts_integration") == 1
