"""gunicorn serving Tocsin in a subprocess, as production runs it, for the fault and metrics
tests: its database and broker addresses are the test's to choose (a Blackhole proxy's)."""

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client

from tests.oncall.cluster import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def database_url(host_port: str = "127.0.0.1:5432") -> str:
    """The test database (rows the test commits: it needs transactional_db), at host_port."""
    return f"postgres://postgres@{host_port}/{connection.settings_dict['NAME']}"


class Gunicorn:
    def __init__(
        self, workdir: Path, env: dict[str, str], *, workers: int = 1, threads: int = 4
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.args = [
            GUNICORN,
            "config.wsgi",
            "--config=python:config.gunicorn",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--graceful-timeout=2",
            "--no-control-socket",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._live, timeout=60, what=f"gunicorn on port {self.port}")

    def _live(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{self.log()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


def signed_in(user: AbstractBaseUser) -> requests.Session:
    """A browser session for `user` on a live server: the session row is committed here."""
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started
