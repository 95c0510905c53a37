"""Every wait for PostgreSQL is bounded (ops/postgresql): the server cancels a slow statement,
and the client gives up on a server that has gone silent. A connection of its own, through a
Blackhole proxy, stands in for a web request's."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.models.signals import pre_migrate

from ops.postgresql.base import BoundedConnection, DatabaseWrapper, use_statement_timeout
from tests.stubs.blackhole import Blackhole

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy():
    server = Blackhole(target_port=5432)
    server.start()
    yield server
    server.stop()


def through(proxy: Blackhole, **options: float) -> DatabaseWrapper:
    base = connection.settings_dict
    settings_dict = {
        **base,
        "HOST": "127.0.0.1",
        "PORT": str(proxy.port),
        "OPTIONS": {**base["OPTIONS"], **options},
    }
    return DatabaseWrapper(settings_dict, alias="probe")


def timed_error(run) -> tuple[Exception, float]:
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        run()
    return raised.value, time.monotonic() - started


def select_one(wrapper: DatabaseWrapper) -> None:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_the_server_cancels_a_statement_past_the_statement_timeout(proxy):
    probe = through(proxy, statement_timeout=0.5, read_timeout=5)

    def sleep():
        with probe.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(3)")

    error, seconds = timed_error(sleep)

    assert "statement timeout" in str(error)
    assert seconds < 2
    select_one(probe)  # cancelled cleanly: the connection is still good
    probe.close()


def test_the_client_gives_up_on_a_silent_server_after_the_read_timeout(proxy):
    probe = through(proxy, statement_timeout=1, read_timeout=2)
    select_one(probe)
    proxy.black_hole()

    error, seconds = timed_error(lambda: select_one(probe))

    assert "did not answer within 2 s" in str(error)
    assert 1.9 < seconds < 3.5
    assert probe.connection.closed  # its protocol state is unknown: never reused
    probe.close()


def test_a_new_connection_to_a_silent_server_gives_up_after_the_connect_timeout(proxy):
    probe = through(proxy, connect_timeout=2)
    proxy.black_hole()

    _, seconds = timed_error(probe.ensure_connection)

    assert 1.9 < seconds < 3.5


def test_the_health_check_of_a_kept_connection_gives_up_within_a_second(proxy):
    probe = through(proxy, statement_timeout=5, read_timeout=6)
    select_one(probe)
    proxy.black_hole()

    started = time.monotonic()
    usable = probe.is_usable()

    assert usable is False
    assert time.monotonic() - started < 1.8
    assert probe.connection.read_timeout == 6  # restored for the statements that follow
    probe.close()


def test_web_connections_have_the_web_statement_timeout_and_a_read_timeout_above_it():
    options = settings.DATABASES["default"]["OPTIONS"]
    probe = DatabaseWrapper(
        {**connection.settings_dict, "OPTIONS": {**options, **_web_timeouts()}}, alias="probe"
    )
    with probe.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{round(settings.DB_STATEMENT_TIMEOUT)}s"
    assert isinstance(probe.connection, BoundedConnection)
    assert probe.connection.read_timeout == settings.DB_STATEMENT_TIMEOUT + 1
    probe.close()


def _web_timeouts() -> dict[str, float]:
    from ops.postgresql import timeout_options

    return timeout_options(settings.DB_STATEMENT_TIMEOUT)


def test_workers_switch_open_and_future_connections_to_their_own_timeout():
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    try:
        use_statement_timeout(60)
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "1min"
        assert connection.connection.read_timeout == 61
        assert options["statement_timeout"] == 60  # new connections, in any thread
    finally:
        use_statement_timeout(saved["statement_timeout"])


def test_migrations_run_without_a_statement_timeout():
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    use_statement_timeout(5)
    try:
        assert pre_migrate.has_listeners()
        call_command("migrate", "ops", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"
        assert connection.connection.read_timeout is None
    finally:
        use_statement_timeout(saved["statement_timeout"])


def test_management_commands_have_the_workers_statement_timeout_not_webs():
    # Commands are not web requests: seeding or a report may take longer than a page may.
    database = connection.settings_dict["NAME"]
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection; cursor = connection.cursor(); "
            "cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "DB_STATEMENT_TIMEOUT": "5",
            "WORKER_DB_STATEMENT_TIMEOUT": "60",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1min"


@pytest.mark.django_db
def test_connections_compile_no_jit():
    """PostgreSQL's JIT spent seconds compiling the monthly report's aggregates for under one
    second of work; nothing else we run is long enough to gain from it."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
