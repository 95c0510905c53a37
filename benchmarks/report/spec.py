"""What a report benchmark database holds, kept as the database's comment so a rerun can trust
it, and the window of months its incidents span."""

import json
from dataclasses import dataclass
from datetime import datetime

from benchmarks.harness import database_name, database_url

# Bumped whenever the loader's output changes, so a kept database is loaded again.
LOADER_VERSION = 3
MONTHS = 24


@dataclass(frozen=True)
class Spec:
    """What the loader writes; kept as the database's comment, so a rerun can trust it."""

    version: int
    incidents: int  # the large database's size: it sets the spacing of incidents in time
    small: int
    zone: str
    first_month: str  # the window's first month, YYYY-MM, in `zone`
    loaded: int  # incidents in this database
    months: int = MONTHS  # the window's length

    @property
    def stride(self) -> int:
        return self.incidents // self.small


def read_spec(url: str) -> Spec | None:
    import psycopg

    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [database_name(url)],
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        return Spec(**json.loads(row[0]))
    except (ValueError, TypeError):
        return None


def write_spec(spec: Spec) -> None:
    from django.db import connection

    text = json.dumps(spec.__dict__).replace("'", "''")
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE \"{connection.settings_dict['NAME']}\" IS '{text}'")


def window(spec: Spec) -> tuple[datetime, datetime]:
    from reports.months import Month

    first = Month.parse(spec.first_month)
    return first.start(), first.minus(-spec.months).start()
