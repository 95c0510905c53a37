"""Real Celery workers and beats for the paging reliability tests.

The workers talk to the test database (committed rows: the tests use `transactional_db`), to
a private redis-server the tests may kill and restart (tests.harness.PrivateRedis), and to the
provider stubs.
"""

import os
import signal
import subprocess
from pathlib import Path

from tests.harness import ROOT, PrivateRedis, database_url, wait_until

CELERY = str(ROOT / ".venv" / "bin" / "celery")


class Cluster:
    """Celery workers and beats started as separate processes, logging to files."""

    def __init__(self, workdir: Path, redis: PrivateRedis, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.redis = redis
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis.url,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [CELERY, "-A", "config", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def start_worker(self, name: str, *, queues: str = "celery,paging") -> subprocess.Popen[bytes]:
        # The solo pool runs tasks in the worker process itself, so killing that process
        # kills the delivery in the middle.
        process = self._start(
            name,
            [
                "worker",
                f"--queues={queues}",
                "--pool=solo",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}@%h",
                "--loglevel=INFO",
            ],
        )
        wait_until(lambda: "ready." in self.log(name), timeout=60, what=f"worker {name}")
        return process

    def start_beat(self, name: str) -> subprocess.Popen[bytes]:
        return self._start(
            name,
            ["beat", f"--schedule={self.workdir / name}-schedule", "--pidfile=", "--loglevel=INFO"],
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM if name.startswith("beat") else signal.SIGKILL)
