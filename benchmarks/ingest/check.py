"""What the ingest benchmark sets up in the database, and how it checks, after the load, that
the alerts and incidents there are what the deliveries imply."""

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from benchmarks.ingest.plan import Plan

if TYPE_CHECKING:
    # Django is set up in main(), after the settings are pointed at the benchmark database.
    from alerts.models import Integration
    from incidents.models import Team


def uncapped_alertmanager(team: "Team", name: str) -> tuple["Integration", str]:
    """An Alertmanager integration with its storm cap lifted: the load's incidents stay apart."""
    from accounts.actors import SYSTEM
    from alerts.models import IntegrationKind
    from alerts.services.integrations import integration_create

    return integration_create(
        actor=SYSTEM,
        name=name,
        kind=IntegrationKind.ALERTMANAGER,
        team=team,
        max_incidents_per_minute=1_000_000,
    )


def check_data(plan: Plan, *, integration_id: int, floor_requests: int) -> list[str]:
    """What differs between the database and what the deliveries imply; empty when equal."""
    from django.db import connection

    from alerts.models import Alert
    from incidents.models import Incident

    problems: list[str] = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    rows = {
        row["dedup_key"]: row
        for row in Alert.objects.filter(integration_id=integration_id).values(
            "dedup_key",
            "status",
            "starts_at",
            "ends_at",
            "times_seen",
            "needs_processing",
            "incident_id",
            "labels",
        )
    }
    expected = plan.alerts
    missing = expected.keys() - rows.keys()
    extra = rows.keys() - expected.keys()
    expect(not missing, f"{len(missing)} alerts missing, e.g. {sorted(missing)[:3]}")
    expect(not extra, f"{len(extra)} unexpected alerts, e.g. {sorted(extra)[:3]}")
    wrong: Counter[str] = Counter()
    for key in expected.keys() & rows.keys():
        want, row = expected[key], rows[key]
        wrong["status"] += row["status"] != ("resolved" if want.ends_at else "firing")
        wrong["starts_at"] += row["starts_at"] != want.starts_at
        wrong["ends_at"] += row["ends_at"] != want.ends_at
        wrong["labels"] += row["labels"] != want.labels
        wrong["still pending"] += row["needs_processing"]
        # A repeat overtaken by its own resolution is rightly ignored: at most, not exactly.
        wrong["times_seen"] += not 1 <= row["times_seen"] <= want.events
        wrong["resolved alert holds an incident"] += bool(want.ends_at and row["incident_id"])
        wrong["firing alert without incident"] += not want.ends_at and not row["incident_id"]
    for what, count in sorted(wrong.items()):
        expect(not count, f"{count} alerts with a wrong {what}")

    # The processor ran after the load: it saw every alert in its final state, so each group
    # with an alert still firing has one incident holding exactly those alerts.
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    severity: dict[tuple[str, str], str] = {}
    for alert in expected.values():
        if alert.ends_at is None:
            groups[alert.group].add(alert.fingerprint)
            held = severity.get(alert.group)
            severity[alert.group] = min(held, alert.severity) if held else alert.severity
    by_incident: dict[int, set[str]] = defaultdict(set)
    for key, row in rows.items():
        if row["incident_id"]:
            by_incident[row["incident_id"]].add(key)
    incidents = {i.pk: i for i in Incident.objects.select_related("severity")}
    expect(
        len(incidents) == len(groups),
        f"{len(incidents)} incidents, expected {len(groups)} (one per group still firing)",
    )
    mismatched = 0
    for pk, keys in by_incident.items():
        group = expected[next(iter(keys))].group
        incident = incidents.get(pk)
        mismatched += (
            keys != groups.get(group)
            or incident is None
            or incident.severity.name != severity[group]
            or incident.status != "detected"
        )
    expect(not mismatched, f"{mismatched} incidents whose alerts, severity or status differ")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_floor")
        (floor_rows,) = cursor.fetchone() or (0,)
    expect(floor_rows == floor_requests, f"{floor_rows} floor rows, expected {floor_requests}")
    return problems
