"""Django's PostgreSQL backend with client-side bounds on every wait for the server.

`statement_timeout` is enforced by the server, so it cannot help when the server never answers:
a partition, a failover, a proxy that accepts and goes silent. TCP keepalives and
`tcp_user_timeout` end a connection whose packets are dropped, but not one whose peer (a
proxy, a half-dead host) still acknowledges them. What bounds a wait in every case is the
client: psycopg's own wait loop, given a deadline here (measured in tests/ops/test_faults.py).

Two OPTIONS keys of ours, in seconds, 0 for none:
- `statement_timeout`: sent as the session's `statement_timeout`, so the server cancels a
  runaway query cleanly and the connection stays usable;
- `read_timeout`: the longest any wait for the server may take; above statement_timeout, so
  the server's cancel comes first when the server is alive. The connection is closed when it
  expires: its protocol state is unknown.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connections, transaction
from django.db.backends.postgresql import base

from ops.postgresql import READ_TIMEOUT_MARGIN, timeout_options

# Seconds the health check Django runs before reusing a connection may take: a SELECT 1 that
# takes longer means the server is gone or drowning, and a fresh connection is the better bet.
HEALTH_CHECK_TIMEOUT = 1.0


class BoundedConnection(psycopg.Connection[Any]):
    read_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is None:
            timeout = self.read_timeout
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except psycopg.errors._WaitTimeout as exc:
            # Mid-protocol: whatever the server sends later would be misread. Drop it.
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s"
            ) from exc


class _Psycopg:
    """The psycopg module, except that connections are BoundedConnections."""

    connect = BoundedConnection.connect

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()  # type: ignore[assignment]

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        params.pop("read_timeout", None)
        statement_timeout = params.pop("statement_timeout", None)
        if statement_timeout is not None:
            milliseconds = round(float(statement_timeout) * 1000)
            extra = params.get("options", "")
            params["options"] = f"{extra} -c statement_timeout={milliseconds}".strip()
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if isinstance(connection, BoundedConnection):
            connection.read_timeout = read_timeout(self.settings_dict["OPTIONS"])
        return connection

    @contextmanager
    def _nodb_cursor(self) -> Iterator[Any]:
        # Database-level work (creating and dropping databases, for tests and tools) may
        # rightly take longer than any statement of a request.
        with super()._nodb_cursor() as cursor:
            raw = cursor.cursor.connection
            if isinstance(raw, BoundedConnection):
                raw.read_timeout = None
            cursor.execute("SELECT set_config('statement_timeout', '0', false)")
            yield cursor

    def is_usable(self) -> bool:
        raw = self.connection
        if not isinstance(raw, BoundedConnection):
            return bool(super().is_usable())
        usual = raw.read_timeout
        raw.read_timeout = min(usual or HEALTH_CHECK_TIMEOUT, HEALTH_CHECK_TIMEOUT)
        try:
            return bool(super().is_usable())
        finally:
            raw.read_timeout = usual


def use_statement_timeout(seconds: float) -> None:
    """Give this process's connections another statement timeout (0: none, and no deadline).

    For processes whose work is not a web request's: workers and beat (longer), migrations
    (none). A connection already open is changed in place.
    """
    options = timeout_options(seconds)
    # Every thread's wrapper shares the one settings dict: the next connection of any
    # thread gets the new options.
    for wrapper in connections.all():
        if not isinstance(wrapper, DatabaseWrapper):
            continue
        wrapper.settings_dict["OPTIONS"].update(options)
        raw = wrapper.connection
        if isinstance(raw, BoundedConnection) and not raw.closed:
            raw.read_timeout = read_timeout(options)
            with wrapper.cursor() as cursor:
                milliseconds = str(round(seconds * 1000))
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [milliseconds])


def read_timeout(options: dict[str, Any]) -> float | None:
    value = float(options.get("read_timeout") or 0)
    return value or None


@contextmanager
def deadline(seconds: float, using: str = "default") -> Iterator[None]:
    """Within: each statement, and each wait for the server, ends after about `seconds`.

    For work that must answer quickly or not at all (probes, scrapes). Opens a transaction of
    its own. Other backends (SQLite) run the block unbounded.
    """
    wrapper = connections[using]
    if not isinstance(wrapper, DatabaseWrapper):
        yield
        return
    wrapper.ensure_connection()
    raw = wrapper.connection
    usual = raw.read_timeout if isinstance(raw, BoundedConnection) else None
    if isinstance(raw, BoundedConnection):
        raw.read_timeout = seconds + READ_TIMEOUT_MARGIN
    try:
        with transaction.atomic(using=using):
            with wrapper.cursor() as cursor:
                milliseconds = str(round(seconds * 1000))
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [milliseconds])
            yield
    finally:
        if isinstance(raw, BoundedConnection):
            raw.read_timeout = usual
