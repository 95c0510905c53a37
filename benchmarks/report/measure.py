"""Measuring the report benchmark: monthly_report() built and timed with its queries counted,
its CPU, its slowest queries, and the other readers of a month's incidents."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks.harness import expect, process_cpu


@dataclass
class Run:
    seconds: float
    queries: list[dict[str, str]]


def timed(call: Callable[[], Any]) -> tuple[Run, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    return Run(seconds, list(captured.captured_queries)), result


def build(month: Any) -> Any:
    from reports.builder import monthly_report

    return monthly_report(month)


def stream_rows(month: Any) -> int:
    from reports.builder import incident_rows

    return sum(1 for _ in incident_rows(month))


def stream_csv(month: Any) -> int:
    from reports.export import csv_lines

    return sum(len(line) for line in csv_lines(month))


def responder_load(month: Any) -> Any:
    from reports.load import responder_load

    return responder_load(month)


def home_panel(month: Any) -> Any:
    """The home page's panel for managers, in the middle of the month."""
    from datetime import timedelta

    from reports.home import home_figures

    return home_figures(now=month.start() + timedelta(days=15))


def prometheus_scrape(month: Any) -> Any:
    """The MTTA and MTTR histograms /metrics reads on every scrape (every incident ever)."""
    from reports.prometheus import duration_families

    return list(duration_families())


# The report page's client, signed in as a manager on the database measured. Signing in costs
# 23 queries of its own (sessions, django-axes, last_login): done before the page is timed.
_manager: Any = None


def sign_in_manager() -> None:
    global _manager
    from django.test import Client

    from accounts.models import User

    _manager = Client()
    _manager.force_login(User.objects.get(username="manager1"))


def report_page(month: Any) -> Any:
    """The monthly report page as a signed-in manager gets it (Django's test client, in-process)."""
    from django.urls import reverse

    expect(_manager is not None, "sign_in_manager() before the report page")
    response = _manager.get(reverse("reports:monthly", kwargs={"month": str(month)}))
    expect(response.status_code == 200, f"the report page answered {response.status_code}")
    return len(response.content)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def apply_settings(settings: list[str]) -> None:
    """--set NAME=VALUE: session settings for what follows (the connection is kept)."""
    from django.db import connection

    for setting in settings:
        name, _, value = setting.partition("=")
        expect(name.replace("_", "").replace(".", "").isalnum(), f"not a setting: {setting!r}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, false)", [name, value])


def measure_builds(month: Any, runs: int) -> tuple[Run, list[Run], Any]:
    first, report = timed(lambda: build(month))
    return first, [timed(lambda: build(month))[0] for _ in range(runs)], report


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def measure_cpu(month: Any, runs: int = 3) -> tuple[float, float] | None:
    """The CPU one build costs, Python's and the PostgreSQL backend's (median of `runs`).

    Wall time on a shared machine counts the time spent waiting for a core; CPU time hardly
    does, so this is the figure to compare between runs. Parallel workers are turned off for
    it, as their CPU is not the backend's: every query's whole work is counted.
    """
    from django.db import connection

    pid = backend_pid()
    if process_cpu(pid) is None:  # PostgreSQL on another machine
        return None
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    python, server = [], []
    try:
        for _ in range(runs):
            started, server_started = time.process_time(), process_cpu(pid) or 0.0
            build(month)
            python.append(time.process_time() - started)
            server.append((process_cpu(pid) or 0.0) - server_started)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")
    return statistics.median(python), statistics.median(server)


def show_slowest(run: Run, explain: bool) -> None:
    from django.db import connection

    ranked = sorted(run.queries, key=lambda q: float(q["time"]), reverse=True)
    in_queries = sum(float(q["time"]) for q in run.queries)
    print(
        f"  the median build: {ms(run.seconds).strip()}, of which {ms(in_queries).strip()} waiting"
        " for the database; its slowest queries:"
    )
    for query in ranked[:5]:
        sql = " ".join(query["sql"].split())
        print(f"    {float(query['time']) * 1000:7.1f} ms  {sql[:150]}")
    if explain and ranked:
        print("\n  EXPLAIN (ANALYZE, BUFFERS) of the slowest:\n")
        sql = " ".join(ranked[0]["sql"].split())
        print(f"    {sql[:600]}{' …' if len(sql) > 600 else ''}\n")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + ranked[0]["sql"])
            for (line,) in cursor.fetchall():
                print("    " + line)


def measure_small(month: Any) -> set[int]:
    _first, runs, _ = measure_builds(month, 2)
    # The process's first build also reads what it keeps for its life (PostgreSQL's zone
    # names, reports.sql): counted once per process, not per build, so left out here.
    counts = {len(r.queries) for r in runs}
    print(
        f"  monthly_report({month}): {min(r.seconds for r in runs) * 1000:.1f} ms,"
        f" queries {'/'.join(map(str, sorted(counts)))}"
    )
    return counts


# The other readers of the month's incidents, each where it is built.
EXTRAS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("the report page, as a manager", report_page),
    ("incident_rows (the CSV's rows)", stream_rows),
    ("csv_lines (the CSV's text)", stream_csv),
    ("responder_load", responder_load),
    ("home panel (mid-month)", home_panel),
    ("/metrics histograms (a scrape)", prometheus_scrape),
)


def count_extras(month: Any) -> dict[str, int]:
    """How many queries each of EXTRAS makes, to compare across sizes."""
    sign_in_manager()
    return {label: len(timed(partial(call, month))[0].queries) for label, call in EXTRAS}


def extras(month: Any, small_counts: dict[str, int], small: int) -> bool:
    """Each of EXTRAS, first call and a second one; False when one's query count grew."""
    same = True
    sign_in_manager()
    for label, call in EXTRAS:
        run, result = timed(partial(call, month))
        again, _ = timed(partial(call, month))
        if label == "responder_load":
            size = f", {len(result):,} people"
        elif isinstance(result, int):
            unit = "rows" if "rows" in label else "bytes" if "page" in label else "characters"
            size = f", {result:,} {unit}"
        else:
            size = ""
        queries = len(again.queries)
        grew = queries != small_counts[label]
        same = same and not grew
        print(
            f"  {label:<34} first {ms(run.seconds)}, again {ms(again.seconds)}, {queries} queries"
            + (f" (GROWS: {small_counts[label]} at {small:,} incidents)" if grew else "")
            + size
        )
    return same
