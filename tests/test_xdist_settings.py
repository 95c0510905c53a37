"""Under pytest-xdist each worker has a Redis db of its own (config/test_settings.py), and the
processes a test starts use the same one."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKS = ("REDIS_URL", "PYTEST_XDIST_WORKER", "TOCSIN_TEST_REDIS_WORKER")
SCRIPT = (
    "import json, os, config.test_settings; "
    f"print(json.dumps({{k: os.environ[k] for k in {MARKS!r} if k in os.environ}}))"
)


def loading_test_settings(**env: str) -> dict[str, str]:
    """What a process loading the test settings with this environment leaves in it."""
    clean = {key: value for key, value in os.environ.items() if key not in MARKS}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_each_worker_adds_its_number_to_the_given_db():
    given = "redis://127.0.0.1:6379/4"

    assert loading_test_settings(REDIS_URL=given)["REDIS_URL"] == given
    assert loading_test_settings(REDIS_URL=given, PYTEST_XDIST_WORKER="gw0")["REDIS_URL"] == given
    assert loading_test_settings(REDIS_URL=given, PYTEST_XDIST_WORKER="gw1")["REDIS_URL"] == (
        "redis://127.0.0.1:6379/5"
    )
    assert loading_test_settings(PYTEST_XDIST_WORKER="gw1")["REDIS_URL"] == (
        "redis://127.0.0.1:6379/15"
    )


def test_a_process_started_by_a_worker_keeps_the_workers_db():
    # gunicorn, Celery and manage.py inherit the worker's environment and load the settings.
    worker = loading_test_settings(REDIS_URL="redis://127.0.0.1:6379/4", PYTEST_XDIST_WORKER="gw1")

    assert loading_test_settings(**worker)["REDIS_URL"] == "redis://127.0.0.1:6379/5"
