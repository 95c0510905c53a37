"""The report benchmark's people and the loader's plumbing: session settings and helpers,
teams, services and paging rules, the temporary roster, test pages, and the indexes built once
after the load."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from benchmarks.harness import run_sql, step
from benchmarks.report.spec import Spec, window

TEAMS = 12
MEMBERS_PER_TEAM = 25  # responders; each team also has a manager
SERVICES = 60
ZONES = ["", "Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "US/Pacific"]


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
