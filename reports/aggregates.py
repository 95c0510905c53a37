"""SQL the reports aggregate with, the same on PostgreSQL and on SQLite (the embedded setup).

PostgreSQL has percentile_cont built in; SQLite gets an aggregate of the same name and meaning
(linear interpolation between the closest ranks) registered on each new connection, so the
figures are computed in the database on both and a report never loads incidents into Python.
"""

import math
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func
from django.db.models.expressions import Expression


def seconds_sql(end: str, start: str, *, postgres: bool) -> str:
    """`end - start` in seconds, a float, as SQL text around the two SQL expressions `end` and
    `start` (in that order, so their parameters stay in order): the one spelling the ORM
    expression (Seconds) and the hand-written queries (reports.sql.Dialect) share."""
    if postgres:
        # date_part is double precision; EXTRACT is numeric since PostgreSQL 14, and averaging
        # and sorting numerics for the percentiles took twice as long over a month's incidents.
        return f"date_part('epoch', {end} - {start})"
    # julianday() is a float of days, some 50 µs off: rounded to whole milliseconds, 30 min
    # is 1800 s, not 1799.99997 (which a page shows as "29 min").
    return f"ROUND((julianday({end}) - julianday({start})) * 86400.0, 3)"


class Seconds(Func):
    """`end - start` in seconds, as a float; NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end: str | Expression, start: str | Expression) -> None:
        super().__init__(end, start)

    def _seconds(self, compiler: Any, *, postgres: bool) -> tuple[str, tuple[Any, ...]]:
        (end, end_params), (start, start_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return seconds_sql(end, start, postgres=postgres), (*end_params, *start_params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self._seconds(compiler, postgres=True)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self._seconds(compiler, postgres=False)


class Percentile(Aggregate):
    """percentile_cont(fraction) of a numeric expression: 0.5 is the median."""

    name = "percentile"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        self.fraction = fraction
        super().__init__(expression, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template=(
                f"percentile_cont({self.fraction!r}) WITHIN GROUP (ORDER BY %(expressions)s)"
                "%(filter)s"
            ),
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template=f"percentile_cont(%(expressions)s, {self.fraction!r})%(filter)s",
            **extra,
        )


class _SQLitePercentile:
    """SQLite's percentile_cont(value, fraction), as PostgreSQL computes it."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        if not self.values:
            return None
        ordered = sorted(self.values)
        position = self.fraction * (len(ordered) - 1)
        below, above = math.floor(position), math.ceil(position)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont", 2, _SQLitePercentile)


def connect_sqlite_functions() -> None:
    connection_created.connect(_register, dispatch_uid="reports.percentile_cont")
