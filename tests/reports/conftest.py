"""Incidents with exact timestamps for the report's figures.

Reports only read, so fixtures write rows directly when a test needs times to the second
(the services stamp `now`); tests of the lifecycle itself (reopens) go through the services.
"""

import contextlib
import itertools
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from incidents.models import Incident, Service, Status, Team
from postmortems.models import ActionItem, ActionItemStatus, ContributingFactor, Postmortem
from tests.factories import ServiceFactory, TeamFactory, severity


def at(text: str) -> datetime:
    """An aware time from ISO text: "2026-10-02T10:05Z", or with an offset."""
    return datetime.fromisoformat(text)


class MakeIncident(Protocol):
    def __call__(self, started: str, **kwargs: Any) -> Incident: ...


def _status(acknowledged: str | None, mitigated: str | None, resolved: str | None) -> str:
    if resolved:
        return Status.RESOLVED
    if mitigated:
        return Status.MONITORING
    return Status.ACKNOWLEDGED if acknowledged else Status.DETECTED


@pytest.fixture
def incident(db: None) -> MakeIncident:
    """An incident row: `started` and the other times as ISO text; detected defaults to
    started, declared to detected, the status to what the times say (resolved when resolved)."""
    numbers = itertools.count(1)

    def make(
        started: str,
        *,
        detected: str | None = None,
        declared: str | None = None,
        acknowledged: str | None = None,
        mitigated: str | None = None,
        resolved: str | None = None,
        last_resolved: str | None = None,
        status: str | None = None,
        severity_name: str = "SEV2",
        team: Team | None = None,
        services: Iterable[Service] = (),
        **fields: Any,
    ) -> Incident:
        detected = detected or started
        made = Incident.objects.create(
            number=next(numbers),
            title=fields.pop("title", f"Incident started {started}"),
            severity=severity(severity_name),
            status=status or _status(acknowledged, mitigated, resolved),
            team=team,
            started_at=at(started),
            detected_at=at(detected),
            declared_at=at(declared or detected),
            acknowledged_at=acknowledged and at(acknowledged),
            mitigated_at=mitigated and at(mitigated),
            resolved_at=resolved and at(resolved),
            last_resolved_at=resolved and at(last_resolved or resolved),
            **fields,
        )
        made.services.set(list(services))
        return made

    return make


@pytest.fixture
def team() -> Callable[[str], Team]:
    return lambda name: TeamFactory(name=name)


@pytest.fixture
def service() -> Callable[..., Service]:
    def make(name: str, team: Team | None = None) -> Service:
        return ServiceFactory(name=name, team=team)

    return make


def postmortem(incident: Incident, *factors: str) -> Postmortem:
    """A postmortem for `incident`, naming the seeded contributing factors by name."""
    made = Postmortem.objects.create(
        incident=incident,
        title=f"Postmortem: {incident.title}",
        created_at=incident.started_at,
        updated_at=incident.started_at,
        refreshed_at=incident.started_at,
    )
    made.contributing_factors.set(ContributingFactor.objects.filter(name__in=factors))
    return made


def action_item(
    incident: Incident,
    *,
    due: str,
    status: str = ActionItemStatus.OPEN,
    closed: str | None = None,
) -> ActionItem:
    return ActionItem.objects.create(
        incident=incident,
        title=f"Item due {due}",
        due_date=date.fromisoformat(due),
        status=status,
        wont_do_reason="Not worth it" if status == ActionItemStatus.WONT_DO else "",
        created_at=incident.started_at,
        updated_at=incident.started_at,
        closed_at=closed and at(closed),
    )


ROOT = Path(__file__).resolve().parents[2]


def _embedded_manage(data_dir: Path, zone: str, *args: str) -> str:
    """manage.py as `make run`'s embedded setup runs it: SQLite in data_dir, in the
    organisation's zone given; no test settings, no PostgreSQL, no Redis."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.startswith("DJANGO_")
    }
    env.update(TOCSIN_DATA_DIR=str(data_dir), ORGANISATION_TIME_ZONE=zone)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    ).stdout


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded setup's SQLite database, migrated once: migrating takes tens of seconds on
    a loaded machine, and no migration depends on the organisation's zone. The tests using it
    share a pytest-xdist worker (ONE_WORKER in tests/conftest.py)."""
    data_dir = tmp_path_factory.mktemp("sqlite")
    _embedded_manage(data_dir, "UTC", "migrate", "-v0")
    return data_dir / "tocsin.sqlite3"


class RunOnSqlite(Protocol):
    def __call__(self, script: str, *, zone: str) -> Any: ...


@pytest.fixture
def run_on_sqlite(migrated_sqlite: Path, tmp_path: Path) -> RunOnSqlite:
    """`manage.py shell -c script` on a copy of the migrated SQLite database of this test's
    own; what the script prints last is read as JSON."""
    # The backup API, not a file copy: the database is in WAL mode.
    with (
        contextlib.closing(sqlite3.connect(migrated_sqlite)) as source,
        contextlib.closing(sqlite3.connect(tmp_path / "tocsin.sqlite3")) as copy,
    ):
        source.backup(copy)

    def run(script: str, *, zone: str) -> Any:
        output = _embedded_manage(tmp_path, zone, "shell", "-c", script)
        return json.loads(output.strip().splitlines()[-1])

    return run
