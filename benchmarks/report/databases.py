"""The report benchmark's two databases: pointing Django at them, loading the small one,
growing the large one from it, and saying what each holds."""

import os
import time
from datetime import UTC, datetime

from benchmarks.harness import (
    configure_in_process,
    database_name,
    database_url,
    expect,
    recreate_database,
    step,
)
from benchmarks.report.incidents import load_incidents
from benchmarks.report.seed import (
    LOADED_TABLES,
    create_roster,
    indexes_built_after,
    load_other_notifications,
    load_people,
    prepare_session,
    vacuum_analyze,
)
from benchmarks.report.spec import Spec, write_spec

DEFAULT_ZONE = "America/New_York"


def configure(url: str) -> None:
    """Point Django at the benchmark database; must run before settings are imported."""
    configure_in_process(url)
    # Month boundaries in a zone that is not UTC, as most organisations have them.
    os.environ.setdefault("ORGANISATION_TIME_ZONE", DEFAULT_ZONE)
    # Loading runs statements of a minute; the report's own must fit in the budget anyway.
    os.environ["DB_STATEMENT_TIMEOUT"] = "0"
    # /metrics keeps its scan for 30 s; measured here is the scan itself, every time.
    os.environ["REPORTS_METRICS_CACHE_SECONDS"] = "0"


def use_database(name: str) -> None:
    """Switch Django's connection to another database (the next query reconnects)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def load_small(url: str, spec: Spec) -> None:
    from django.core.management import call_command

    print(f"Creating {database_name(url)} with {spec.small:,} incidents", flush=True)
    recreate_database(url)
    use_database(database_name(url))
    with step("migrate"):
        call_command("migrate", verbosity=0)
    started = time.perf_counter()
    prepare_session()
    load_people(datetime.now(UTC))
    create_roster()
    load_other_notifications(spec)
    load_incidents(spec, small=True)
    vacuum_analyze()
    write_spec(spec)
    print(f"  {'total load':<48} {time.perf_counter() - started:6.1f} s", flush=True)


def grow_large(small_url: str, url: str, spec: Spec) -> None:
    """The large database: a copy of the small one, then every other incident."""
    import psycopg

    print(
        f"Creating {database_name(url)} from {database_name(small_url)} and growing it to"
        f" {spec.incidents:,} incidents",
        flush=True,
    )
    # A template database must have no other session: this closes Django's.
    use_database(database_name(url))
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
        conn.execute(
            f'CREATE DATABASE "{database_name(url)}" TEMPLATE "{database_name(small_url)}"'
        )
    started = time.perf_counter()
    prepare_session()
    create_roster()
    with indexes_built_after(LOADED_TABLES):
        load_incidents(spec, small=False)
    vacuum_analyze()
    write_spec(spec)
    print(f"  {'total load':<48} {time.perf_counter() - started:6.1f} s", flush=True)


def describe(spec: Spec) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM incidents_incident),
                   (SELECT count(*) FROM incidents_incident_services),
                   (SELECT count(*) FROM incidents_timelineevent),
                   (SELECT count(*) FROM oncall_notification WHERE kind = 'page'),
                   (SELECT count(DISTINCT user_id) FROM oncall_notification WHERE kind = 'page'),
                   (SELECT count(*) FROM postmortems_postmortem),
                   (SELECT count(*) FROM postmortems_actionitem),
                   pg_size_pretty(pg_database_size(current_database()))
            """
        )
        incidents, links, entries, pages, paged, postmortems, items, size = cursor.fetchone()
    print(
        f"  {database_name_now()}: {incidents:,} incidents, {links:,} service links,"
        f" {entries:,} timeline entries,"
        f" {pages:,} pages to {paged} people, {postmortems:,} postmortems, {items:,} action"
        f" items; {size}"
    )
    expect(incidents == spec.loaded, f"expected {spec.loaded:,} incidents, found {incidents:,}")


def database_name_now() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])
