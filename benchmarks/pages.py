"""Page-load budget: list and incident pages over 100,000 incidents and 1,000,000 timeline
entries must answer in p95 < 150 ms, with a query count that does not grow with the data.

    python -m benchmarks.pages                # create tocsin_bench, load, measure
    python -m benchmarks.pages --reuse        # measure the data already loaded

The database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/tocsin_bench) is
dropped, created and migrated, then filled with set-based SQL (INSERT ... SELECT over
generate_series). Requests go through Django's test Client in-process, so the figures are server
time: middleware, view, queries and templates, without a network or gunicorn in between.
They are made as a responder who is not an admin, so every list applies the private filter.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from benchmarks.harness import (
    configure_in_process,
    database_name,
    expect,
    recreate_database,
    step,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tocsin_bench"
INCIDENTS = 100_000
TIMELINE_ENTRIES = 1_000_000
DETAIL_ENTRIES = 200  # the one incident whose page is measured has exactly this many
OPEN_INCIDENTS = 400
USERS = 200
TEAMS = 8
SERVICES = 40
BUDGET_MS = 150.0

TITLES = [
    "Checkout returns 502 errors",
    "Elevated latency on the API gateway",
    "Database replica lagging",
    "Card authorisations timing out",
    "Login failures for SSO users",
    "Search results missing recent orders",
    "Webhook deliveries failing",
    "Disk almost full on the database primary",
    "Background jobs stuck in the queue",
    "Certificate expiring on the edge proxy",
    "Increased 5xx after deploy",
    "Payment confirmations delayed",
    "DNS resolution failures",
    "Memory leak in worker pods",
    "Mobile app cannot refresh tokens",
    "Invoices generated twice",
]
MESSAGES = [
    "Checked the dashboards; the error rate is falling.",
    "Rolled back the last deploy to rule it out.",
    "Paged the database on-call for a second opinion.",
    "Customer support reports more tickets about this.",
    "Scaled the service out by two instances.",
    "Found the slow query; an index is being added.",
    "Upstream provider confirms a partial outage.",
    "Error rate back to baseline, keeping an eye on it.",
]
KINDS = ["note", "status_changed", "status_update", "role_assigned", "alert", "checklist"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="skip creating and loading")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    return parser.parse_args()


def load(now: datetime) -> dict[str, Any]:
    """Fill the migrated database; returns what the measurements need."""
    from django.db import connection

    params: dict[str, Any] = {
        "now": now,
        "incidents": INCIDENTS,
        "open": OPEN_INCIDENTS,
        "users": USERS,
        "teams": TEAMS,
        "services": SERVICES,
        "titles": TITLES,
        "messages": MESSAGES,
        "kinds": KINDS,
        # A recent, resolved, public incident gets the 200-entry timeline.
        "detail": INCIDENTS - OPEN_INCIDENTS - 50,
        "detail_entries": DETAIL_ENTRIES,
        "spread_entries": TIMELINE_ENTRIES - DETAIL_ENTRIES,
    }
    with connection.cursor() as cursor:

        def run(label: str, sql: str) -> None:
            with step(label):
                cursor.execute(sql, params)

        cursor.execute("SELECT setseed(0.42)")
        run(
            "users",
            """
            INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name,
                email, is_staff, is_active, date_joined, role, timezone)
            SELECT '!', false, CASE WHEN g = 1 THEN 'bench' ELSE 'user' || g END,
                'User', g::text, 'user' || g || '@example.com', false, true, %(now)s,
                CASE WHEN g %% 10 = 0 THEN 'viewer' WHEN g %% 25 = 0 THEN 'manager'
                     ELSE 'responder' END, ''
            FROM generate_series(1, %(users)s) g
            """,
        )
        run(
            "teams",
            """
            INSERT INTO incidents_team (name, slug, description)
            SELECT 'Team ' || g, 'team-' || g, '' FROM generate_series(1, %(teams)s) g
            """,
        )
        run(
            "services",
            """
            INSERT INTO incidents_service (name, slug, description, team_id, public)
            SELECT 'Service ' || g, 'service-' || g, '',
                (SELECT id FROM incidents_team WHERE slug = 'team-' || (1 + g %% %(teams)s)),
                g %% 4 = 0
            FROM generate_series(1, %(services)s) g
            """,
        )
        run(
            f"{INCIDENTS:,} incidents",
            """
            WITH people AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user
                            WHERE role <> 'viewer'),
                 sev AS (SELECT array_agg(id ORDER BY rank) AS ids FROM incidents_severity),
                 svc AS (SELECT array_agg(id ORDER BY id) AS ids,
                                array_agg(team_id ORDER BY id) AS teams FROM incidents_service),
                 src AS (
                    SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                        %(now)s::timestamptz
                            - make_interval(secs => (%(incidents)s - g) * 900.0 + random() * 600)
                            AS declared
                    FROM generate_series(1, %(incidents)s) g)
            INSERT INTO incidents_incident (number, title, summary, severity_id, status, team_id,
                labels, source, private, cause_category, resolution,
                declared_by_id, commander_id, started_at, detected_at, declared_at,
                acknowledged_at, identified_at, mitigated_at, resolved_at, last_resolved_at,
                reopen_count, drill, updated_at)
            SELECT g,
                (%(titles)s::text[])[1 + (g * 7) %% cardinality(%(titles)s::text[])]
                    || ' on service ' || (1 + g %% %(services)s),
                'Customers see errors; the team is looking into it.',
                sev.ids[CASE WHEN r1 < 0.05 THEN 1 WHEN r1 < 0.25 THEN 2
                             WHEN r1 < 0.70 THEN 3 ELSE 4 END],
                CASE WHEN g > %(incidents)s - %(open)s
                     THEN (ARRAY['detected', 'acknowledged', 'investigating', 'identified',
                                 'monitoring'])[1 + floor(r2 * 5)::int]
                     ELSE 'resolved' END,
                svc.teams[1 + g %% %(services)s],
                '{}'::jsonb,
                (ARRAY['web', 'slack', 'alertmanager', 'api'])[1 + floor(r3 * 4)::int],
                r4 < 0.03,
                '', '',
                people.ids[1 + (g * 13) %% cardinality(people.ids)],
                people.ids[1 + (g * 31) %% cardinality(people.ids)],
                declared - interval '12 minutes', declared - interval '4 minutes', declared,
                declared + interval '5 minutes', declared + interval '40 minutes',
                declared + interval '70 minutes',
                CASE WHEN g > %(incidents)s - %(open)s THEN NULL
                     ELSE declared + interval '2 hours' END,
                CASE WHEN g > %(incidents)s - %(open)s THEN NULL
                     ELSE declared + interval '2 hours' END,
                0, false,
                declared + interval '2 hours'
            FROM src, people, sev, svc
            """,
        )
        run(
            "incident services",
            """
            INSERT INTO incidents_incident_services (incident_id, service_id)
            SELECT i.id, svc.ids[1 + i.number %% %(services)s]
            FROM incidents_incident i,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM incidents_service) svc
            UNION ALL
            SELECT i.id, svc.ids[1 + (i.number + 1 + i.number %% 5) %% %(services)s]
            FROM incidents_incident i,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM incidents_service) svc
            WHERE i.number %% 3 = 0
            """,
        )
        run(
            "participants",
            """
            INSERT INTO incidents_incident_participants (incident_id, user_id)
            SELECT id, declared_by_id FROM incidents_incident
            UNION
            SELECT id, commander_id FROM incidents_incident
            UNION
            SELECT i.id, people.ids[1 + (i.number * 17) %% cardinality(people.ids)]
            FROM incidents_incident i,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user
                  WHERE role <> 'viewer') people
            UNION
            -- The measuring user takes part in one incident in fifty, some of them private.
            SELECT i.id, u.id FROM incidents_incident i, accounts_user u
            WHERE u.username = 'bench' AND i.number %% 50 = 0
            """,
        )
        run(
            "commander roles",
            """
            INSERT INTO incidents_roleassignment (incident_id, role, user_id, assigned_at,
                assigned_by_id)
            SELECT id, 'commander', commander_id, declared_at, declared_by_id
            FROM incidents_incident
            """,
        )
        run(
            "checklists",
            """
            INSERT INTO incidents_checklistitem (incident_id, position, title, done_at, done_by_id)
            SELECT i.id, p, 'Checklist item ' || p,
                CASE WHEN i.status = 'resolved' THEN i.resolved_at END,
                CASE WHEN i.status = 'resolved' THEN i.commander_id END
            FROM incidents_incident i, generate_series(1, 9) p
            """,
        )
        run(
            "status updates",
            """
            INSERT INTO incidents_statusupdate (incident_id, message, public, status, posted_at,
                author_id)
            SELECT id, 'We are looking into it; next update in 30 minutes.', number %% 2 = 0,
                'investigating', declared_at + interval '10 minutes', commander_id
            FROM incidents_incident
            """,
        )
        run(
            f"{TIMELINE_ENTRIES:,} timeline entries",
            """
            WITH entries AS (
                -- Spread entries evenly over every incident but the detail one.
                SELECT k, (k::bigint - 1) * (%(incidents)s - 1) / %(spread_entries)s + 1 AS slot
                FROM generate_series(1, %(spread_entries)s) k
                UNION ALL
                SELECT %(spread_entries)s + k, NULL FROM generate_series(1, %(detail_entries)s) k
            ),
            numbered AS (
                SELECT k,
                    CASE WHEN slot IS NULL THEN %(detail)s
                         WHEN slot < %(detail)s THEN slot ELSE slot + 1 END AS number
                FROM entries
            ),
            seq AS (
                SELECT k, number, row_number() OVER (PARTITION BY number ORDER BY k) AS n
                FROM numbered
            )
            INSERT INTO incidents_timelineevent (incident_id, kind, occurred_at, actor_id,
                source, message, data, highlighted)
            SELECT i.id,
                CASE WHEN s.n = 1 THEN 'declared'
                     ELSE (%(kinds)s::text[])[1 + s.k %% cardinality(%(kinds)s::text[])] END,
                i.declared_at + (s.n - 1) * interval '3 minutes',
                CASE WHEN s.n = 1 THEN i.declared_by_id ELSE i.commander_id END,
                'web',
                CASE WHEN s.n = 1 THEN 'Declared INC-' || i.number
                     ELSE (%(messages)s::text[])[1 + s.k %% cardinality(%(messages)s::text[])]
                     END,
                '{}'::jsonb,
                s.k %% 23 = 0
            FROM seq s JOIN incidents_incident i ON i.number = s.number
            """,
        )
        run(
            "incident counter",
            "UPDATE incidents_incidentcounter SET last_number = %(incidents)s",
        )
    with step("vacuum analyze"), connection.cursor() as cursor:
        # VACUUM cannot run in a transaction; Django's connection is in autocommit here.
        cursor.execute("VACUUM ANALYZE")
    return {"detail": params["detail"]}


def check_loaded(detail: int) -> None:
    from incidents.models import Incident, TimelineEvent

    incidents = Incident.objects.count()
    entries = TimelineEvent.objects.count()
    on_detail = TimelineEvent.objects.filter(incident__number=detail).count()
    print(f"  {incidents:,} incidents, {entries:,} timeline entries, {on_detail} on INC-{detail}")
    expect(incidents == INCIDENTS, f"expected {INCIDENTS} incidents")
    expect(entries == TIMELINE_ENTRIES, f"expected {TIMELINE_ENTRIES} timeline entries")
    expect(on_detail == DETAIL_ENTRIES, f"expected {DETAIL_ENTRIES} entries on INC-{detail}")


def measure(label: str, get: Callable[[], Any], *, warmup: int, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    queries: set[int] = set()
    for _ in range(warmup):
        with CaptureQueriesContext(connection) as captured:
            response = get()
        expect(response.status_code == 200, f"{label}: HTTP {response.status_code}")
        queries.add(len(captured.captured_queries))
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = get()
        timings.append((time.perf_counter() - started) * 1000)
        expect(response.status_code == 200, f"{label}: HTTP {response.status_code}")
    timings.sort()
    return {
        "label": label,
        "p50": statistics.median(timings),
        "p95": timings[max(0, round(len(timings) * 0.95) - 1)],
        "max": timings[-1],
        "queries": sorted(queries),
    }


def report(results: list[dict[str, Any]]) -> bool:
    print(f"\n{'endpoint':<46} {'p50':>8} {'p95':>8} {'max':>8}  queries")
    ok = True
    for row in results:
        within = row["p95"] < BUDGET_MS
        ok = ok and within and len(row["queries"]) == 1
        queries = "/".join(str(q) for q in row["queries"])
        mark = "" if within else f"  OVER BUDGET ({BUDGET_MS:.0f} ms)"
        print(
            f"{row['label']:<46} {row['p50']:7.1f}ms {row['p95']:7.1f}ms {row['max']:7.1f}ms"
            f"  {queries}{mark}"
        )
    print(
        f"\nBudget: p95 < {BUDGET_MS:.0f} ms and one query count per endpoint: "
        + ("met." if ok else "MISSED.")
    )
    return ok


def main() -> int:
    args = parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    configure_in_process(url)
    if not args.reuse:
        print(f"Creating {database_name(url)} and migrating", flush=True)
        recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from accounts.models import User
    from incidents.models import Incident, TimelineEvent

    if not args.reuse:
        with step("migrate"):
            call_command("migrate", verbosity=0)
        print("Loading", flush=True)
        started = time.perf_counter()
        detail = load(datetime.now(UTC))["detail"]
        print(f"  {'total load':<48} {time.perf_counter() - started:6.1f} s")
    else:
        detail = (
            TimelineEvent.objects.values("incident__number")
            .order_by()
            .annotate(n=Count("id"))
            .filter(n=DETAIL_ENTRIES)
            .values_list("incident__number", flat=True)
            .first()
        )
    check_loaded(detail)

    user = User.objects.get(username="bench")
    expect(not user.is_admin, "the measuring user must not be an admin")
    client = Client()
    client.force_login(user)
    severe = Incident.objects.filter(severity__name="SEV2").values_list("title", flat=True)[0]
    word = severe.split()[1]
    endpoints = [
        ("incident list, first page", "/"),
        ("incident list, ?status=open&severity=SEV1", "/?status=open&severity=SEV1"),
        ("incident list, ?status=resolved&severity=SEV2", "/?status=resolved&severity=SEV2"),
        (f"incident list, search ?q={word}", f"/?q={word}"),
        ("incident list, page 200", "/?page=200"),
        (f"incident page, INC-{detail} ({DETAIL_ENTRIES} entries)", f"/incidents/{detail}/"),
        ("API incident list", "/api/v1/incidents/"),
    ]
    print(
        f"\nMeasuring as {user.username} ({user.role}), {args.warmup} warm-up and "
        f"{args.requests} timed requests each, in-process Django test Client"
    )
    # Timings on a shared machine mean little without knowing what else ran.
    print("  load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    results = []
    for label, path in endpoints:
        results.append(
            measure(
                label,
                partial(client.get, path),
                warmup=args.warmup,
                requests=args.requests,
            )
        )
        print(f"  {label}: done", flush=True)
    print("  load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
