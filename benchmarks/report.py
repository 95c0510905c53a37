"""Monthly report budget (issue 14): over 1,000,000 incidents, building a month's report takes
< 1 s on PostgreSQL, in a number of queries that does not depend on the number of incidents.

    python -m benchmarks.report                  # load if needed, then measure
    python -m benchmarks.report --runs 11        # more timed runs
    python -m benchmarks.report --reload         # drop both databases and load again

Two databases (BENCH_REPORT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/tocsin_bench_report, and the same name with `_small`):
the small one holds every 100th incident (10,000), the large one is a copy of the small one
grown to 1,000,000. Both are kept: a run whose databases already hold what it would load (the
loader's version, sizes and zone are in the database's comment) only migrates them (an index
added since is built) and measures, which takes a minute rather than the load's several.

The incidents span the 24 calendar months before the one the load ran in, in the
organisation's zone (ORGANISATION_TIME_ZONE, America/New_York here unless set), evenly, each
one's figures drawn from a hash of its number, so the small database's incidents are exactly
those of the large one with the same numbers. They have severities (SEV1 5 %, SEV2 20 %,
SEV3 40 %, SEV4 35 %), teams, one or two services, cause categories, commanders (one in ten
hands over), a timeline of about eight entries (the commander's role entries among them), drills
(1.5 %), duplicates merged into an earlier incident (0.5 %), reopens (3 %), incidents never
acknowledged (2 %) or never mitigated (15 %), open incidents (most of the last three days' and
0.2 % of the older ones); SEV1 and SEV2 incidents page the team's on-call person (and the next
one when the first has not acknowledged within five minutes, and the team's manager for a SEV1)
by SMS and then voice, as oncall Notification rows; most SEV1 and SEV2 have a postmortem with
contributing factors and action items. Everything is written with set-based SQL (INSERT ...
SELECT over generate_series), then VACUUM ANALYZE.

The month measured is the 13th of the 24, so it has a previous month and a 12-month trend. The
report is built with reports.builder.monthly_report() in-process (no HTTP): the first build after
connecting, then --runs builds, each counted with CaptureQueriesContext; the count must be one
number, the same on both databases. The CPU one build costs (Python's and the PostgreSQL
backend's, parallel workers off) is printed too: on a shared machine it moves less than wall
time. Over budget, the slowest query is shown with EXPLAIN (ANALYZE, BUFFERS). Then the other
readers of the month's incidents are timed, their query counts compared with the small
database's: the report page as a manager gets it, incident_rows() and csv_lines() (the CSV),
responder load, the home page's panel and a /metrics scrape (uncached).

    --set jit=off        a PostgreSQL setting for the measuring session (repeatable)
    --month 2026-11      another month (the latest is the one emailed on the 1st)
    --months 120         the same incidents over ten years: fewer a month
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.pages import TITLES, recreate_database, step

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench_report"
DEFAULT_ZONE = "America/New_York"
# Bumped whenever the loader's output changes, so a kept database is loaded again.
LOADER_VERSION = 3
INCIDENTS = 1_000_000
SMALL_INCIDENTS = 10_000
MONTHS = 24
TEAMS = 12
MEMBERS_PER_TEAM = 25  # responders; each team also has a manager
SERVICES = 60
BUDGET_S = 1.0
# What the incidents' cause_category says (the demo's words), and the contributing factor a
# postmortem of each is tagged with.
CAUSES = {  # most frequent first
    "deploy": "change",
    "configuration": "configuration",
    "capacity": "capacity",
    "third party": "dependency",
    "bug": "software-defect",
    "query": "software-defect",
    "expiry": "process",
    "content": "process",
    "security": "security",
}
ZONES = ["", "Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "US/Pacific"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed builds after the first")
    parser.add_argument("--reload", action="store_true", help="drop both databases and load")
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--small", type=int, default=SMALL_INCIDENTS, help="incidents, small")
    parser.add_argument(
        "--months", type=int, default=MONTHS, help="months the incidents span (24 or more)"
    )
    parser.add_argument("--month", help="YYYY-MM to measure instead of the window's 13th month")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest query always")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the measuring session, e.g. --set jit=off",
    )
    return parser.parse_args()


def configure(url: str) -> None:
    """Point Django at the benchmark database; must run before settings are imported."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Month boundaries in a zone that is not UTC, as most organisations have them.
    os.environ.setdefault("ORGANISATION_TIME_ZONE", DEFAULT_ZONE)
    # Loading runs statements of a minute; the report's own must fit in the budget anyway.
    os.environ["DB_STATEMENT_TIMEOUT"] = "0"
    os.environ.pop("REDIS_URL", None)
    # /metrics keeps its scan for 30 s; measured here is the scan itself, every time.
    os.environ["REPORTS_METRICS_CACHE_SECONDS"] = "0"
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers")


def database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


# -- what a database holds ------------------------------------------------------------------


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


def use_database(name: str) -> None:
    """Switch Django's connection to another database (the next query reconnects)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


# -- loading --------------------------------------------------------------------------------


def window(spec: Spec) -> tuple[datetime, datetime]:
    from reports.months import Month

    first = Month.parse(spec.first_month)
    return first.start(), first.minus(-spec.months).start()


def run_sql(label: str, sql: str, params: dict[str, Any]) -> None:
    from django.db import connection

    with step(label), connection.cursor() as cursor:
        cursor.execute(sql, params)


def prepare_session() -> None:
    """Session settings for bulk loading and the pseudo-random helpers (dropped on close).

    u(g, k) is a uniform draw in [0, 1) and z(g, k) a standard normal one, both a function of
    the incident number g and the draw k only: an incident is the same whichever database and
    whichever load wrote it.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        # No foreign-key triggers: every reference is to a row the loader just wrote.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            """
            CREATE OR REPLACE FUNCTION pg_temp.u(g bigint, k bigint) RETURNS float8
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT (hashint8extended(g, k) & 2147483647)::float8 / 2147483648.0 $$
            """
        )
        cursor.execute(
            """
            CREATE OR REPLACE FUNCTION pg_temp.z(g bigint, k bigint) RETURNS float8
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT sqrt(-2 * ln(1 - pg_temp.u(g, k)))
                         * cos(2 * pi() * pg_temp.u(g, k + 1000)) $$
            """
        )


def load_people(now: datetime) -> None:
    """Teams of 25 responders and a manager, services, contact methods and paging rules."""
    params = {
        "now": now,
        "teams": TEAMS,
        "members": MEMBERS_PER_TEAM,
        "services": SERVICES,
        "zones": ZONES,
    }
    run_sql(
        "users",
        """
        INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
            email, is_staff, is_active, date_joined, role, timezone)
        SELECT '!', false, 'user' || g, 'User', g::text, 'user' || g || '@example.com', false,
            true, %(now)s, 'responder',
            (%(zones)s::text[])[1 + g %% cardinality(%(zones)s::text[])]
        FROM generate_series(1, %(teams)s * %(members)s) g
        UNION ALL
        SELECT '!', false, 'manager' || g, 'Manager', g::text, 'manager' || g || '@example.com',
            false, true, %(now)s, 'manager', 'America/New_York'
        FROM generate_series(1, %(teams)s) g
        UNION ALL
        SELECT '!', true, 'bench', 'Bench', 'Admin', 'bench@example.com', true, true, %(now)s,
            'admin', ''
        """,
        params,
    )
    run_sql(
        "teams, members and leads",
        """
        INSERT INTO incidents_team (name, slug, description)
        SELECT 'Team ' || g, 'team-' || g, '' FROM generate_series(1, %(teams)s) g;

        INSERT INTO incidents_team_members (team_id, user_id)
        SELECT t.id, u.id FROM incidents_team t JOIN accounts_user u
            ON u.username LIKE 'user%%'
           AND t.slug = 'team-' || (1 + (substr(u.username, 5)::int - 1) %% %(teams)s)
        UNION ALL
        SELECT t.id, u.id FROM incidents_team t JOIN accounts_user u
            ON u.username = 'manager' || substr(t.slug, 6);

        INSERT INTO incidents_team_leads (team_id, user_id)
        SELECT t.id, u.id FROM incidents_team t JOIN accounts_user u
            ON u.username = 'manager' || substr(t.slug, 6);
        """,
        params,
    )
    run_sql(
        "services",
        """
        INSERT INTO incidents_service (name, slug, description, team_id, public)
        SELECT 'Service ' || g, 'service-' || g, '',
            (SELECT id FROM incidents_team WHERE slug = 'team-' || (1 + (g - 1) %% %(teams)s)),
            g %% 4 = 0
        FROM generate_series(1, %(services)s) g
        """,
        params,
    )
    run_sql(
        "contact methods and paging rules",
        """
        INSERT INTO oncall_contactmethod (user_id, kind, address, label, verified_at,
            verification_code_hash, verification_attempts, secret, disabled_reason, created_at)
        SELECT u.id, k.kind, CASE k.kind WHEN 'sms' THEN '+1555' ELSE '+1556' END
                || lpad(u.id::text, 7, '0'),
            '', %(now)s, '', 0, '', '', %(now)s
        FROM accounts_user u, (VALUES ('sms'), ('voice')) k(kind)
        WHERE u.role IN ('responder', 'manager');

        INSERT INTO oncall_notificationrule (user_id, contact_method_id, delay)
        SELECT user_id, id, CASE kind WHEN 'sms' THEN interval '0' ELSE interval '5 minutes' END
        FROM oncall_contactmethod;
        """,
        params,
    )


def create_roster() -> None:
    """Temporary lookups for the loads: who is on call for which team in which week."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            DROP TABLE IF EXISTS pg_temp.roster, pg_temp.leads;
            CREATE TEMP TABLE roster AS
            SELECT m.team_id, u.id AS user_id,
                row_number() OVER (PARTITION BY m.team_id ORDER BY u.id) - 1 AS pos,
                (SELECT id FROM oncall_contactmethod c WHERE c.user_id = u.id
                 AND c.kind = 'sms') AS sms,
                (SELECT id FROM oncall_contactmethod c WHERE c.user_id = u.id
                 AND c.kind = 'voice') AS voice
            FROM incidents_team_members m JOIN accounts_user u ON u.id = m.user_id
            WHERE u.role = 'responder';
            CREATE INDEX ON roster (team_id, pos);
            CREATE TEMP TABLE leads AS
            SELECT l.team_id, l.user_id,
                (SELECT id FROM oncall_contactmethod c WHERE c.user_id = l.user_id
                 AND c.kind = 'sms') AS sms
            FROM incidents_team_leads l;
            ANALYZE roster; ANALYZE leads;
            """
        )


def load_incidents(spec: Spec, *, small: bool) -> None:
    """The incidents numbered g in 1..spec.incidents with g % stride == 0 (small) or != 0.

    Incident g starts in the g-th of `incidents` equal slices of the window, at a point in it
    drawn from g: numbers follow time, as they do when incidents are declared.
    """
    start, end = window(spec)
    label = f"{spec.small:,}" if small else f"{spec.incidents - spec.small:,} more"
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "spacing": (end - start).total_seconds() / spec.incidents,
        "incidents": spec.incidents,
        "stride": spec.stride,
        "small": small,
        "services": SERVICES,
        "members": MEMBERS_PER_TEAM,
        "titles": TITLES,
        "causes": list(CAUSES),
    }
    run_sql(
        f"{label} incidents",
        """
        WITH sev AS (SELECT array_agg(id ORDER BY rank) AS ids FROM incidents_severity),
        svc AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(team_id ORDER BY id) AS teams
                FROM incidents_service),
        src AS (
            SELECT g,
                %(start)s::timestamptz
                    + make_interval(secs => ((g - 1) + pg_temp.u(g, 1)) * %(spacing)s)
                    AS started_at,
                pg_temp.u(g, 2) AS r_severity,
                -- A few services have most incidents.
                1 + floor(%(services)s * power(pg_temp.u(g, 3), 2))::int AS service,
                -- Seconds: detection after the start; acknowledgement and resolution after
                -- detection (log-normal, the median by severity below).
                exp(ln(300) + 1.0 * pg_temp.z(g, 4)) AS ttd,
                exp(0.9 * pg_temp.z(g, 5)) AS tta_factor,
                exp(1.0 * pg_temp.z(g, 6)) AS ttr_factor,
                pg_temp.u(g, 7) < 0.015 AS drill,
                pg_temp.u(g, 8) AS r_open,
                pg_temp.u(g, 9) < 0.02 AS never_acknowledged,
                pg_temp.u(g, 10) < 0.15 AS never_mitigated,
                pg_temp.u(g, 11) AS r_reopen,
                pg_temp.u(g, 12) AS r_status,
                pg_temp.u(g, 13) AS r_cause,
                pg_temp.u(g, 14) AS r_mitigate,
                pg_temp.u(g, 15) AS r_private
            FROM generate_series(1, %(incidents)s) g
            WHERE (g %% %(stride)s = 0) = %(small)s
        ),
        shaped AS (
            SELECT src.*,
                CASE WHEN r_severity < 0.05 THEN 1 WHEN r_severity < 0.25 THEN 2
                     WHEN r_severity < 0.65 THEN 3 ELSE 4 END AS rank,
                (started_at > %(end)s::timestamptz - interval '3 days' AND r_open < 0.5)
                    OR r_open < 0.002 AS open,
                floor(extract(epoch FROM started_at) / 604800)::int AS week
            FROM src
        ),
        timed AS (
            SELECT shaped.*,
                started_at + make_interval(secs => ttd) AS detected_at,
                tta_factor * (ARRAY[150, 240, 1800, 7200])[rank] AS tta,
                greatest(ttr_factor * (ARRAY[4500, 9000, 21600, 172800])[rank],
                         tta_factor * (ARRAY[150, 240, 1800, 7200])[rank] + 60) AS ttr,
                CASE WHEN NOT open THEN 'resolved'
                     ELSE (ARRAY['detected', 'acknowledged', 'investigating', 'identified',
                                 'monitoring'])[1 + floor(r_status * 5)::int] END AS status,
                CASE WHEN r_reopen < 0.02 THEN 1 WHEN r_reopen < 0.03 THEN 2 ELSE 0 END
                    AS reopens
            FROM shaped
        )
        INSERT INTO incidents_incident (number, title, summary, severity_id, status, team_id,
            labels, source, private, cause_category, resolution, declared_by_id, commander_id,
            started_at, detected_at, declared_at, acknowledged_at, identified_at, mitigated_at,
            resolved_at, last_resolved_at, reopen_count, drill, updated_at)
        SELECT g,
            (%(titles)s::text[])[1 + (g * 7) %% cardinality(%(titles)s::text[])]
                || ' on service ' || service,
            'Customers see errors; the team is looking into it.',
            sev.ids[rank],
            status,
            svc.teams[service],
            '{}'::jsonb,
            CASE WHEN rank <= 2 THEN 'alertmanager' WHEN g %% 3 = 0 THEN 'slack' ELSE 'web' END,
            r_private < 0.03,
            CASE WHEN r_cause < 0.2 THEN ''
                 ELSE (%(causes)s::text[])[1 + floor(power((r_cause - 0.2) / 0.8, 1.6)
                                                   * cardinality(%(causes)s::text[]))::int]
                 END,
            CASE WHEN status = 'resolved' THEN 'Rolled back and watched the error rate.'
                 ELSE '' END,
            r.user_id,
            -- One incident in ten hands command over to the next on the rota (the timeline
            -- below says when); the incident names the last commander.
            CASE WHEN status = 'resolved' AND pg_temp.u(g, 19) < 0.1 THEN r2.user_id
                 ELSE r.user_id END,
            started_at,
            detected_at,
            detected_at + make_interval(secs => 180 * r_status),
            CASE WHEN status = 'detected' OR (status = 'resolved' AND never_acknowledged)
                 THEN NULL ELSE detected_at + make_interval(secs => tta) END,
            CASE WHEN status IN ('identified', 'monitoring')
                   OR (status = 'resolved' AND NOT never_acknowledged)
                 THEN detected_at + make_interval(secs => tta + (ttr - tta) * 0.2) END,
            CASE WHEN status = 'monitoring' OR (status = 'resolved' AND NOT never_mitigated)
                 THEN detected_at + make_interval(secs => tta + (ttr - tta)
                                                          * (0.3 + 0.6 * r_mitigate)) END,
            CASE WHEN status = 'resolved' THEN detected_at + make_interval(secs => ttr) END,
            CASE WHEN status = 'resolved'
                 THEN detected_at + make_interval(secs => ttr)
                      + reopens * make_interval(hours => 1 + floor(20 * r_mitigate)::int) END,
            CASE WHEN status = 'resolved' THEN reopens ELSE 0 END,
            drill,
            CASE WHEN status = 'resolved' THEN detected_at + make_interval(secs => ttr)
                 ELSE detected_at END
        FROM timed, sev, svc, roster r, roster r2
        WHERE r.team_id = svc.teams[service] AND r.pos = week %% %(members)s
          AND r2.team_id = r.team_id AND r2.pos = (week + 2) %% %(members)s
        """,
        params,
    )
    # Each statement below works on the phase's incidents only (the number's test).
    run_sql(
        "merged duplicates",
        """
        UPDATE incidents_incident i SET merged_into_id = p.id
        FROM incidents_incident p
        WHERE (i.number %% %(stride)s = 0) = %(small)s
          AND pg_temp.u(i.number, 18) < 0.005 AND i.status = 'resolved'
          AND p.number = i.number - %(stride)s
        """,
        params,
    )
    run_sql(
        "incident services",
        """
        INSERT INTO incidents_incident_services (incident_id, service_id)
        SELECT i.id, svc.ids[s.service]
        FROM incidents_incident i,
             (SELECT array_agg(id ORDER BY id) AS ids FROM incidents_service) svc,
             LATERAL (SELECT 1 + floor(%(services)s * power(pg_temp.u(i.number, 3), 2))::int
                      AS service) s0,
             -- One incident in five touches a second service too.
             LATERAL (SELECT s0.service
                      UNION ALL
                      SELECT 1 + (s0.service + floor(pg_temp.u(i.number, 16) * 5)::int)
                                 %% %(services)s
                      WHERE pg_temp.u(i.number, 17) < 0.2) s(service)
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        """,
        params,
    )
    run_sql(
        "commander roles",
        """
        INSERT INTO incidents_roleassignment (incident_id, role, user_id, assigned_at,
            assigned_by_id)
        SELECT i.id, 'commander', i.commander_id,
            CASE WHEN i.commander_id = i.declared_by_id
                 THEN coalesce(i.acknowledged_at, i.declared_at)
                 ELSE coalesce(i.acknowledged_at, i.declared_at)
                      + (i.resolved_at - coalesce(i.acknowledged_at, i.declared_at)) / 2 END,
            i.declared_by_id
        FROM incidents_incident i
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        """,
        params,
    )
    run_sql(
        "timeline",
        """
        INSERT INTO incidents_timelineevent (incident_id, kind, occurred_at, actor_id, source,
            message, data, highlighted)
        SELECT i.id, e.kind, e.at, e.actor,
            CASE WHEN e.kind = 'page' THEN 'system' ELSE 'web' END, e.message, e.data, false
        FROM incidents_incident i
        JOIN incidents_severity s ON s.id = i.severity_id
        JOIN accounts_user d ON d.id = i.declared_by_id
        JOIN accounts_user c ON c.id = i.commander_id,
        LATERAL (SELECT 'User ' || d.last_name AS declarer, 'User ' || c.last_name AS commander,
                        coalesce(i.acknowledged_at, i.declared_at) AS took_command) w,
        LATERAL (VALUES
            ('declared', i.declared_at, d.id,
             w.declarer || ' declared INC-' || i.number || ' as ' || s.name || ': ' || i.title,
             jsonb_build_object('severity', s.name, 'private', i.private)),
            ('page', CASE WHEN s.paging IN ('oncall', 'oncall_and_management')
                          THEN i.declared_at END, NULL::bigint,
             'Paged ' || w.declarer || ' (level 1)',
             jsonb_build_object('users', jsonb_build_array(d.username), 'label', 'level 1')),
            ('role_assigned', w.took_command, d.id, w.declarer || ' assumed command',
             jsonb_build_object('role', 'commander', 'user', d.username)),
            ('acknowledged', i.acknowledged_at, d.id, w.declarer || ' acknowledged',
             jsonb_build_object('from', 'detected', 'to', 'acknowledged')),
            ('note', i.declared_at + interval '10 minutes', d.id,
             'Checked the dashboards; rolling back the last deploy to rule it out.',
             '{}'::jsonb),
            ('status_changed', i.identified_at, d.id, w.declarer || ' moved it to Identified',
             jsonb_build_object('from', 'investigating', 'to', 'identified')),
            -- The handover: the incident's commander is not the person who took command.
            ('role_assigned', CASE WHEN i.commander_id <> i.declared_by_id
                                   THEN w.took_command + (i.resolved_at - w.took_command) / 2
                              END, d.id,
             w.declarer || ' made ' || w.commander || ' incident commander',
             jsonb_build_object('role', 'commander', 'user', c.username)),
            ('status_changed', i.mitigated_at, c.id, w.commander || ' moved it to Monitoring',
             jsonb_build_object('from', 'identified', 'to', 'monitoring')),
            ('resolved', i.resolved_at, c.id, w.commander || ' resolved INC-' || i.number,
             jsonb_build_object('from', 'monitoring', 'to', 'resolved')),
            ('reopened', CASE WHEN i.reopen_count > 0 THEN i.resolved_at + interval '30 minutes'
                         END, c.id, w.commander || ' reopened INC-' || i.number,
             jsonb_build_object('from', 'resolved', 'to', 'investigating')),
            ('resolved', CASE WHEN i.reopen_count > 0 THEN i.last_resolved_at END, c.id,
             w.commander || ' resolved INC-' || i.number,
             jsonb_build_object('from', 'investigating', 'to', 'resolved'))
        ) e(kind, at, actor, message, data)
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND e.at IS NOT NULL
        """,
        params,
    )
    run_sql(
        "pages",
        """
        WITH paged AS (
            SELECT i.id, i.team_id, i.declared_by_id, i.declared_at, i.acknowledged_at,
                s.paging = 'oncall_and_management' AS management,
                floor(extract(epoch FROM i.started_at) / 604800)::int AS week
            FROM incidents_incident i JOIN incidents_severity s ON s.id = i.severity_id
            WHERE (i.number %% %(stride)s = 0) = %(small)s
              AND s.paging IN ('oncall', 'oncall_and_management')
        ),
        steps AS (
            -- Level 1 is the on-call person (who declared it), level 2 the next on the rota when
            -- nobody acknowledged within five minutes; the manager at once for a SEV1. Each
            -- person by SMS at once and by voice five minutes later unless acknowledged.
            SELECT p.id, p.declared_at, p.acknowledged_at, 0 AS level, c.user_id, c.sms,
                c.voice, 0 AS delay
            FROM paged p JOIN roster c ON c.user_id = p.declared_by_id
            UNION ALL
            SELECT p.id, p.declared_at, p.acknowledged_at, 1, r.user_id, r.sms, r.voice, 300
            FROM paged p JOIN roster r
                ON r.team_id = p.team_id AND r.pos = (p.week + 1) %% %(members)s
            WHERE p.acknowledged_at IS NULL
               OR p.acknowledged_at > p.declared_at + interval '5 minutes'
            UNION ALL
            SELECT p.id, p.declared_at, p.acknowledged_at, 9, l.user_id, l.sms, NULL, 0
            FROM paged p JOIN leads l ON l.team_id = p.team_id
            WHERE p.management
        ),
        rows AS (
            SELECT st.*, m.method, m.after,
                st.declared_at + make_interval(secs => st.delay + m.after) AS due_at,
                m.after = 0 OR st.acknowledged_at IS NULL
                    OR st.acknowledged_at > st.declared_at
                                            + make_interval(secs => st.delay + m.after) AS sent
            FROM steps st,
                 LATERAL (VALUES (st.sms, 0), (st.voice, 300)) m(method, after)
            WHERE m.method IS NOT NULL
        )
        INSERT INTO oncall_notification (key, kind, incident_id, user_id, contact_method_id,
            level_index, label, body, state, due_at, queued_at, claimed_at, sent_at, attempts,
            provider_id, last_error, created_at)
        SELECT 'bench:' || id || ':l' || level || ':u' || user_id || ':m' || method
                || ':d' || after,
            'page', id, user_id, method, CASE WHEN level = 9 THEN NULL ELSE level END,
            CASE WHEN level = 9 THEN 'management' ELSE 'level ' || (level + 1) END,
            '',
            CASE WHEN sent THEN 'sent' ELSE 'cancelled' END,
            due_at,
            CASE WHEN sent THEN due_at END,
            CASE WHEN sent THEN due_at + interval '1 second' END,
            CASE WHEN sent THEN due_at + interval '2 seconds' END,
            CASE WHEN sent THEN 1 ELSE 0 END,
            '', '', declared_at + make_interval(secs => delay)
        FROM rows
        """,
        params,
    )
    run_sql(
        "postmortems, contributing factors, action items",
        """
        INSERT INTO postmortems_postmortem (incident_id, status, title, sections, revision,
            no_action_reason, created_at, updated_at, refreshed_at, details_revision,
            review_requested_at, published_at, published_by_id)
        SELECT i.id,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN 'published'
                 WHEN pg_temp.u(i.number, 20) < 0.9 THEN 'in_review' ELSE 'draft' END,
            'Postmortem: ' || i.title, '[]'::jsonb, 3, '',
            i.resolved_at + interval '1 hour', i.resolved_at + interval '3 days',
            i.resolved_at + interval '1 hour', 1,
            CASE WHEN pg_temp.u(i.number, 20) < 0.9 THEN i.resolved_at + interval '2 days' END,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN i.resolved_at + interval '3 days' END,
            CASE WHEN pg_temp.u(i.number, 20) < 0.7 THEN i.commander_id END
        FROM incidents_incident i JOIN incidents_severity s ON s.id = i.severity_id
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND i.status = 'resolved' AND NOT i.drill
          AND (s.rank = 1 OR (s.rank = 2 AND pg_temp.u(i.number, 21) < 0.6));

        INSERT INTO postmortems_postmortem_contributing_factors (postmortem_id,
            contributingfactor_id)
        SELECT p.id, f.id
        FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
        JOIN postmortems_contributingfactor f
            ON f.slug = coalesce(%(factors)s::jsonb ->> i.cause_category, 'process')
        WHERE (i.number %% %(stride)s = 0) = %(small)s
        UNION
        SELECT p.id, f.id
        FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
        JOIN postmortems_contributingfactor f ON f.slug = 'monitoring-gap'
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND pg_temp.u(i.number, 22) < 0.4;

        INSERT INTO postmortems_actionitem (incident_id, title, description, owner_id, team_id,
            due_date, priority, kind, status, wont_do_reason, success_criteria, ticket_url,
            created_by_id, created_at, updated_at, closed_at)
        SELECT i.id, (ARRAY['Alert on connection pool saturation',
                            'Add a canary stage to the release pipeline',
                            'Write the rollback runbook for this service'])[n],
            '', i.commander_id, i.team_id,
            ((p.created_at AT TIME ZONE %(zone)s)
                + make_interval(days => CASE WHEN s.rank = 1 THEN 14 ELSE 30 END))::date,
            'p' || (n + 1), (ARRAY['detect', 'prevent', 'process'])[n],
            a.status,
            CASE WHEN a.status = 'wont_do' THEN 'Superseded by the platform migration.'
                 ELSE '' END,
            '', '', i.commander_id, p.created_at,
            p.created_at + interval '10 days',
            CASE WHEN a.status IN ('done', 'wont_do') THEN p.created_at + interval '10 days' END
        FROM postmortems_postmortem p
        JOIN incidents_incident i ON i.id = p.incident_id
        JOIN incidents_severity s ON s.id = i.severity_id,
        generate_series(1, 3) n,
        LATERAL (SELECT CASE WHEN pg_temp.u(i.number, 30 + n) < 0.6 THEN 'done'
                             WHEN pg_temp.u(i.number, 30 + n) < 0.7 THEN 'wont_do'
                             WHEN pg_temp.u(i.number, 30 + n) < 0.85 THEN 'in_progress'
                             ELSE 'open' END AS status) a
        WHERE (i.number %% %(stride)s = 0) = %(small)s AND (n < 3 OR s.rank = 1)
        """,
        {**params, "factors": json.dumps(CAUSES), "zone": spec.zone},
    )
    run_sql(
        "incident counter",
        "UPDATE incidents_incidentcounter SET last_number = %(incidents)s",
        params,
    )


def load_other_notifications(spec: Spec) -> None:
    """Test pages and verification codes: rows a count of pages must leave out."""
    start, _ = window(spec)
    run_sql(
        "test pages",
        """
        INSERT INTO oncall_notification (key, kind, user_id, contact_method_id, label, body,
            state, due_at, sent_at, attempts, provider_id, last_error, created_at)
        SELECT 'bench:test:' || c.id || ':' || m, 'test', c.user_id, c.id, '', 'Test page',
            'sent', at, at, 1, '', '', at
        FROM oncall_contactmethod c, generate_series(0, %(months)s - 1) m,
             LATERAL (SELECT %(start)s::timestamptz + make_interval(months => m, days => 3,
                                                                     hours => (c.id %% 24)::int)
                      AS at) t
        """,
        {"start": start, "months": spec.months},
    )


# The tables the incidents' load writes most to: their indexes are built once at the end.
LOADED_TABLES = [
    "incidents_incident",
    "incidents_incident_services",
    "incidents_roleassignment",
    "incidents_timelineevent",
    "oncall_notification",
    "postmortems_postmortem",
    "postmortems_actionitem",
]


@contextmanager
def indexes_built_after(tables: list[str]) -> Iterator[None]:
    """Drop the tables' indexes that back no constraint, and build them again afterwards:
    maintaining them row by row (the trigram GIN ones above all) would be most of the load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with step(f"{len(indexes)} indexes"), connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)


def vacuum_analyze() -> None:
    from django.db import connection

    with step("vacuum analyze"), connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


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


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark aborted: {message}")


# -- measuring ------------------------------------------------------------------------------


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


def report_page(month: Any) -> Any:
    """The monthly report page as a manager gets it (Django's test client, in-process)."""
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="manager1"))
    response = client.get(reverse("reports:monthly", kwargs={"month": str(month)}))
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


def process_cpu(pid: int) -> float | None:
    """Seconds of CPU a process on this machine has used (user and system), None if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    return {label: len(timed(partial(call, month))[0].queries) for label, call in EXTRAS}


def extras(month: Any, small_counts: dict[str, int], small: int) -> bool:
    """Each of EXTRAS, first call and a second one; False when one's query count grew."""
    same = True
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


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_REPORT_DATABASE_URL", DEFAULT_URL)
    small_url = database_url(url, database_name(url) + "_small")
    configure(small_url)
    expect(args.incidents % args.small == 0, "--incidents must be a multiple of --small")
    # The month measured needs its previous month and 12 more for the trend before it.
    expect(args.months >= 24, "--months must be 24 or more")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from reports.months import Month

    zone = settings.ORGANISATION_TIME_ZONE
    wanted = {
        "version": LOADER_VERSION,
        "incidents": args.incidents,
        "small": args.small,
        "months": args.months,
    }
    stored_small = None if args.reload else read_spec(small_url)
    stored_large = None if args.reload else read_spec(url)
    first_month = str(Month.containing(datetime.now(UTC)).minus(args.months))
    if stored_small is not None and stored_small.zone == zone:
        # A kept database keeps its window, whatever month it is now.
        first_month = stored_small.first_month
    small_spec = Spec(**wanted, zone=zone, first_month=first_month, loaded=args.small)
    large_spec = Spec(**wanted, zone=zone, first_month=first_month, loaded=args.incidents)

    if stored_small != small_spec:
        load_small(small_url, small_spec)
    else:
        use_database(database_name(small_url))
        with step(f"migrate {database_name(small_url)} (kept)"):
            call_command("migrate", verbosity=0)
    describe(small_spec)
    month = (
        Month.parse(args.month)
        if args.month
        else Month.parse(small_spec.first_month).minus(-(args.months // 2))
    )
    apply_settings(args.set)
    print(f"\nMonth {month} in {zone}; {database_name_now()} ({small_spec.small:,} incidents)")
    small_counts = measure_small(month)
    small_extras = count_extras(month)

    if stored_large != large_spec:
        grow_large(small_url, url, large_spec)
    else:
        use_database(database_name(url))
        with step(f"migrate {database_name(url)} (kept)"):
            call_command("migrate", verbosity=0)
    describe(large_spec)

    apply_settings(args.set)
    settings_note = f", session: {' '.join(args.set)}" if args.set else ""
    print(
        f"\nMonth {month} in {zone}; {database_name_now()} ({large_spec.incidents:,}"
        f" incidents{settings_note})"
    )
    print("  load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    first, runs, report = measure_builds(month, args.runs)
    print("  load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ordered = sorted(runs, key=lambda r: r.seconds)
    median_run = ordered[len(ordered) // 2]
    best, median = ordered[0].seconds, statistics.median(r.seconds for r in runs)
    counts = {len(first.queries)} | {len(r.queries) for r in runs}
    print(
        f"  report: {report.incidents:,} incidents in the month, {report.open:,} open,"
        f" {report.drills_excluded:,} drills excluded, {len(report.load)} people in the load"
    )
    print(f"  monthly_report first build   {ms(first.seconds)}")
    print(
        f"  monthly_report {len(runs)} builds     best {ms(best)}, median {ms(median)},"
        f" worst {ms(ordered[-1].seconds)}   (budget < {BUDGET_S * 1000:.0f} ms)"
    )
    print(
        f"  queries                      {'/'.join(map(str, sorted(counts)))} with"
        f" {large_spec.incidents:,} incidents, {'/'.join(map(str, sorted(small_counts)))} with"
        f" {small_spec.small:,}"
    )
    cpu = measure_cpu(month)
    if cpu is not None:
        print(
            f"  CPU of one build              Python {ms(cpu[0]).strip()} + PostgreSQL"
            f" {ms(cpu[1]).strip()} = {ms(sum(cpu)).strip()} (parallel workers off: all the"
            " work, however busy the machine)"
        )
    within = median < BUDGET_S
    same = len(counts) == 1 and counts == small_counts
    show_slowest(median_run, explain=args.explain or not within)
    print()
    others_same = extras(month, small_extras, small_spec.small)
    print(
        "\nBudget: median build < 1 s "
        + ("met" if within else "MISSED")
        + "; query count independent of the number of incidents: "
        + ("yes" if same else "NO")
        + (" (the other readers' too)." if others_same else " (but not every other reader's).")
    )
    return 0 if within and same else 1


if __name__ == "__main__":
    sys.exit(main())
