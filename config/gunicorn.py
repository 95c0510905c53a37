"""gunicorn settings every Tocsin web server runs with:
`gunicorn config.wsgi --config python:config.gunicorn ...`.

Metrics are counted per process; with several workers each scrape would see one worker's
counters. prometheus-client's multiprocess mode has every worker write its counters to files in
PROMETHEUS_MULTIPROC_DIR, and /metrics adds them up (ops/views.py). The directory is set here,
before any worker imports prometheus-client, and emptied when gunicorn starts: files of an
earlier run would be counted again.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

# The access and error logs hide the tokens of secret-bearing paths (feeds, ack links, hooks).
logger_class = "config.gunicorn_logging.RedactingLogger"

# The longest request line, in bytes (gunicorn's maximum; its default, 4094, answers an HTML
# 414 to queries the API schema allows): the incident list's filters at their longest,
# percent-encoded, take about 7,200 bytes. A reverse proxy in front commonly allows 8 KiB.
limit_request_line = 8190

# Ours to delete at exit only when we made it; an operator's directory is only emptied.
_OWN_DIR = ""
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tocsin-metrics-")


def on_starting(server: Any) -> None:
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _OWN_DIR:
        shutil.rmtree(_OWN_DIR, ignore_errors=True)
