"""The few SQL expressions PostgreSQL and SQLite (the embedded setup) spell differently, for the
reports' hand-written queries (window functions, per-row time zones, a histogram's buckets) that
the ORM cannot say in one query.

Each method returns SQL text around column references or placeholders the calling module
wrote; never pass it input.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from reports.aggregates import seconds_sql


class Dialect:
    def __init__(self, vendor: str) -> None:
        if vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"The reports run on PostgreSQL or SQLite, not {vendor}.")
        self.postgres = vendor == "postgresql"

    @classmethod
    def current(cls) -> "Dialect":
        return cls(connection.vendor)

    def when(self, moment: datetime) -> Any:
        """A datetime parameter as the database compares it (SQLite stores UTC text)."""
        return connection.ops.adapt_datetimefield_value(moment)

    def seconds(self, end: str, start: str) -> str:
        """`end - start` in seconds, a float (to the millisecond on SQLite), as the reports'
        ORM expression (aggregates.Seconds) computes it."""
        return seconds_sql(end, start, postgres=self.postgres)

    def bucket_index(self, value: str, bounds: Sequence[int]) -> str:
        """The index of the first of the ascending `bounds` that `value` is at most (as a
        Prometheus bucket's `le`), len(bounds) past the last, NULL for NULL."""
        if self.postgres:
            # One call, so a computed `value` is computed once (a CASE would compute it once
            # per bound, seconds over a million rows). width_bucket(x, lower bounds) counts the
            # bounds <= x; negated, it counts the bounds >= value.
            negated = ",".join(str(-bound) for bound in reversed(bounds))
            return f"({len(bounds)} - width_bucket(-({value}), '{{{negated}}}'::float8[]))"
        whens = " ".join(f"WHEN {value} <= {bound} THEN {i}" for i, bound in enumerate(bounds))
        return f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE {len(bounds)} END"

    def fence(self) -> str:
        """Ends a subquery PostgreSQL is then to plan on its own, not merged into the query
        around it (a no-op OFFSET); SQLite's planner merges nothing that matters here."""
        return "OFFSET 0" if self.postgres else ""

    def join_each(
        self, outer_key: str, table: str, *, alias: str, columns: str, key: str, where: str
    ) -> str:
        """A join of the rows of `table` (as `alias`) whose `key` is `outer_key` and for which
        `where` holds; the query around it reads only `columns` of them.

        PostgreSQL: a LATERAL subquery kept apart (OFFSET 0), so each outer row looks its rows
        up in an index on `key`. As a plain join, once the outer rows are a few percent of the
        table, a serial plan reads the whole index (a merge join) or table (a hash join), a
        cost that grows with the table rather than with the outer rows. SQLite has no LATERAL,
        and looks the rows up by the index anyway."""
        if self.postgres:
            return (
                f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} {alias}"  # noqa: S608
                f" WHERE {key} = {outer_key} AND {where} OFFSET 0) {alias}"
            )
        return f"JOIN {table} {alias} ON {key} = {outer_key} AND {where}"

    def later(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgres else f"MAX({a}, {b})"

    def earlier(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.postgres else f"MIN({a}, {b})"

    def json_text(self, column: str, key: str) -> str:
        return f"({column} ->> '{key}')" if self.postgres else f"json_extract({column}, '$.{key}')"

    def zone_of(self, column: str) -> str:
        """A person's zone column, or the %(organisation_zone)s parameter when it is empty or
        the database does not know it. Pass zone_parameters() with the query's parameters."""
        if self.postgres:
            # A zone Python knows (the profile form checks against it) but this PostgreSQL
            # does not would fail the whole query. The server's zone list is read once per
            # process (reading it costs 30-110 ms), then sent as an array.
            usable = f"{column} <> '' AND {column} = ANY(%(known_zones)s)"
        else:
            # reports_local_time() falls back to the organisation's zone for one it does not know.
            usable = f"{column} <> ''"
        return f"CASE WHEN {usable} THEN {column} ELSE %(organisation_zone)s END"

    def zone_parameters(self, organisation_zone: str) -> dict[str, Any]:
        """The parameters zone_of() refers to."""
        if self.postgres:
            return {"organisation_zone": organisation_zone, "known_zones": postgres_zone_names()}
        return {"organisation_zone": organisation_zone}

    def live_span(self, start: str, end: str) -> str | None:
        """PostgreSQL: a condition that an incident (alias `i`) was live, declared and not yet
        last resolved, at some time in [start, end), written as the GiST index incident_live_span
        (incidents migration 0010) is, so the index finds them. None on SQLite: the caller
        writes the plain comparisons."""
        if not self.postgres:
            return None
        # The status is a literal, not a parameter: the index's expression has it so.
        return (
            "tstzrange(i.declared_at, CASE WHEN i.status = 'resolved'"
            " THEN greatest(i.declared_at, i.last_resolved_at) END)"
            f" && tstzrange({start}, {end})"
        )

    def local_time(self, moment: str, zone: str) -> str:
        """The wall-clock time at `moment` in `zone`, without a zone."""
        if self.postgres:
            return f"({moment} AT TIME ZONE {zone})"
        # Registered on each SQLite connection (reports.load), which has no zone database.
        return f"reports_local_time({moment}, {zone})"

    def iso_weekday(self, local: str) -> str:
        """1 Monday … 7 Sunday."""
        if self.postgres:
            return f"EXTRACT(ISODOW FROM {local})"
        # %w counts from Sunday = 0. (%% is a % once Django has placed the parameters.)
        return f"((CAST(strftime('%%w', {local}) AS INTEGER) + 6) %% 7 + 1)"

    def minute_of_day(self, local: str) -> str:
        if self.postgres:
            return f"(EXTRACT(HOUR FROM {local}) * 60 + EXTRACT(MINUTE FROM {local}))"
        return (
            f"(CAST(strftime('%%H', {local}) AS INTEGER) * 60"
            f" + CAST(strftime('%%M', {local}) AS INTEGER))"
        )


@cache
def postgres_zone_names() -> list[str]:
    """The zone names this PostgreSQL server knows; a server's list changes only with its
    upgrade, which restarts the processes reading it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names")
        return sorted(name for (name,) in cursor.fetchall())
