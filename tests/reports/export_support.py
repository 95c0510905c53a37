"""Shared by the export tests (CSV, API, command): November 2026 in Paris, a handful of
incidents stamped at exact times through the incident services.

Paris is UTC+01:00 all month (summer time ended on 25 October), so a local time is the UTC
time plus one hour. Times to acknowledge, mitigate and resolve run from detection (the
default anchor).

- INC-1, 31 Oct 23:30 (October): resolved at 00:15; TTD 0, TTA and TTR 00:45:00.
- INC-2, 1 Nov 00:30 (November; 31 Oct in UTC): resolved at 01:00 without passing through
  Monitoring; TTD 0, TTA and TTR 00:30:00, TTM not measured.
- INC-3, 3 Nov 09:00, SEV1, two services: detected 09:05, declared 09:07, acknowledged 09:10,
  Monitoring 10:00, resolved 4 Nov 12:08, reopened 13:00, resolved again 14:30; TTD 00:05:00,
  TTA 00:05:00, TTM 00:55:00, TTR 27:03:00.
- INC-4, 20 Nov 11:00, SEV3, still open, its title a spreadsheet formula: TTD 0, nothing else.
- INC-5, 25 Nov 11:00: a drill, left out of everything.
- INC-6, 1 Dec 00:30 (30 Nov in UTC): December's.
- INC-7, 20 Nov 11:05: a duplicate of INC-4, merged into it; left out of everything.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from accounts.models import User
from incidents.models import Incident, Status
from incidents.services import (
    incident_acknowledge,
    incident_merge,
    incident_reopen,
    incident_resolve,
    incident_set_status,
)
from reports.definitions import Anchor, metrics
from reports.months import Month
from reports.report import (
    ActionItemStatus,
    Count,
    Distribution,
    GroupFigures,
    IncidentRow,
    MetricFigures,
    MonthlyReport,
    Recommendation,
    ResponderLoad,
    TrendPoint,
)
from tests.clock import Clock
from tests.factories import ServiceFactory, TeamFactory, declare, severity

NOVEMBER = Month(2026, 11)
BASE_URL = "https://tocsin.example.com"
FORMULA_TITLE = '=HYPERLINK("https://evil.example/","Click me")'


def utc(day: str) -> datetime:
    """`utc("2026-11-03 08:00")`"""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def export_settings(settings) -> None:
    settings.ORGANISATION_TIME_ZONE = "Europe/Paris"
    settings.BASE_URL = BASE_URL
    settings.REPORTS_MTTR_ANCHOR = "detected"


@dataclass
class November:
    last_october: Incident
    first_night: Incident
    outage: Incident
    formula: Incident
    drill: Incident
    first_december: Incident
    duplicate: Incident


def _declared(clock: Clock, actor: User, when: str, **kwargs) -> Incident:
    clock.now = utc(when)
    kwargs.setdefault("started_at", clock.now)
    return declare(actor=actor, **kwargs)


def _resolve(clock: Clock, actor: User, incident: Incident, when: str) -> Incident:
    clock.now = utc(when)
    return incident_resolve(incident=incident, actor=actor, resolution="Fixed.")


def november(clock: Clock, actor: User) -> November:
    payments = TeamFactory(name="Payments")
    checkout = ServiceFactory(name="checkout", team=payments)
    database = ServiceFactory(name="database", team=payments)

    last_october = _declared(clock, actor, "2026-10-31 22:30", title="Late October")
    _resolve(clock, actor, last_october, "2026-10-31 23:15")

    first_night = _declared(clock, actor, "2026-10-31 23:30", title="Cache stampede", team=payments)
    _resolve(clock, actor, first_night, "2026-11-01 00:00")

    outage = _declared(
        clock,
        actor,
        "2026-11-03 08:07",
        title="Checkout is failing",
        severity=severity("SEV1"),
        team=payments,
        services=[checkout, database],
        started_at=utc("2026-11-03 08:00"),
        detected_at=utc("2026-11-03 08:05"),
    )
    clock.now = utc("2026-11-03 08:10")
    incident_acknowledge(incident=outage, actor=actor)
    clock.now = utc("2026-11-03 09:00")
    incident_set_status(incident=outage, actor=actor, status=Status.MONITORING)
    _resolve(clock, actor, outage, "2026-11-04 11:08")
    clock.now = utc("2026-11-04 12:00")
    incident_reopen(incident=outage, actor=actor, reason="Errors are back.")
    outage = _resolve(clock, actor, outage, "2026-11-04 13:30")

    formula = _declared(
        clock, actor, "2026-11-20 10:00", title=FORMULA_TITLE, severity=severity("SEV3")
    )
    drill = _declared(clock, actor, "2026-11-25 10:00", title="Game day", drill=True)
    first_december = _declared(clock, actor, "2026-11-30 23:30", title="First of December")
    duplicate = _declared(
        clock,
        actor,
        "2026-11-30 23:40",
        title="Links in the sheet",
        started_at=utc("2026-11-20 10:05"),
    )
    incident_merge(incident=duplicate, into=formula, actor=actor)
    for incident in (first_night, formula, drill, first_december, duplicate):
        incident.refresh_from_db()
    return November(last_october, first_night, outage, formula, drill, first_december, duplicate)


def incident_row(**changes) -> IncidentRow:
    """A row as the builder gives it, without an incident behind it; `changes` replace fields."""
    row = {
        "number": 7,
        "title": "Checkout is failing",
        "severity": "SEV2",
        "status": "resolved",
        "team": "Payments",
        "services": "checkout",
        "started_at": utc("2026-11-03 08:00"),
        "detected_at": utc("2026-11-03 08:00"),
        "declared_at": utc("2026-11-03 08:00"),
        "acknowledged_at": None,
        "mitigated_at": None,
        "resolved_at": None,
        "last_resolved_at": None,
        "reopen_count": 0,
        "durations": {},
    }
    return IncidentRow(**{**row, **changes})


TTD, TTA, TTM, TTR = "time_to_detect", "time_to_acknowledge", "time_to_mitigate", "time_to_resolve"


def _same(seconds: float) -> Distribution:
    return Distribution(1, 0, seconds, seconds, seconds, seconds)


def hand_built_report(**changes) -> MonthlyReport:
    """November's report as a builder would give it, every figure written out (INC-3 with
    other times than the stamped fixture's); `changes` replace fields."""
    measured = metrics(Anchor.DETECTED)
    this_month = {
        TTD: Distribution(3, 0, 100.0, 0.0, 240.0, 300.0),
        TTA: Distribution(2, 1, 1050.0, 1050.0, 1650.0, 1800.0),
        TTM: Distribution(1, 2, 3300.0, 3300.0, 3300.0, 3300.0),
        TTR: Distribution(2, 1, 49590.0, 49590.0, 87822.0, 97380.0),
    }
    previous = {
        TTD: _same(0.0),
        TTA: _same(2700.0),
        TTM: Distribution(0, 1),
        TTR: _same(2700.0),
    }
    fields = {
        "month": NOVEMBER,
        "time_zone": "Europe/Paris",
        "anchor": Anchor.DETECTED,
        "generated_at": utc("2026-12-01 07:00"),
        "metrics": measured,
        "incidents": 3,
        "open": 1,
        "drills_excluded": 1,
        "merged_excluded": 1,
        "reopened_incidents": 1,
        "reopens": 1,
        "previous_incidents": 1,
        "overall": [MetricFigures(m, this_month[m.key], previous[m.key]) for m in measured],
        "by_severity": [
            GroupFigures(
                "SEV1",
                incidents=1,
                open=0,
                figures={
                    TTD: _same(300.0),
                    TTA: _same(300.0),
                    TTM: _same(3300.0),
                    TTR: _same(97380.0),
                },
                response_target=timedelta(minutes=5),
                within_target=1,
                rank=1,
            )
        ],
        # Only time to resolve: the others come out as measured over nothing.
        "by_service": [
            GroupFigures(
                "checkout | api", 1, 0, {TTR: _same(97380.0)}, previous_incidents=2, slug="checkout"
            )
        ],
        "by_team": [],
        "trend": [
            TrendPoint(Month(2026, 10), 1, _same(2700.0)),
            TrendPoint(NOVEMBER, 3, this_month[TTR]),
        ],
        "top_services": [Count("checkout", 1)],
        "cause_categories": [Count("Deploy", 1)],
        "contributing_factors": [],
        "action_items": ActionItemStatus(
            total=3, by_status={"open": 1, "done": 2}, overdue=1, done_on_time=1
        ),
        "load": [ResponderLoad(7, "Rosa Responder", 5, 4, 3, 2, 1, 97380.0)],
        "recommendations": [
            Recommendation(
                "mttr_over_target",
                "SEV1 took 27:03:00 to resolve, over its 1 h target.",
                "/reports/monthly/2026-11/#by-severity",
            )
        ],
        "incident_rows": [
            incident_row(
                number=3,
                title="Checkout *is* failing | again",
                severity="SEV1",
                acknowledged_at=utc("2026-11-03 08:10"),
                resolved_at=utc("2026-11-04 11:08"),
                last_resolved_at=utc("2026-11-04 13:30"),
                reopen_count=1,
                durations={TTD: 0.0, TTA: 600.0, TTM: None, TTR: 97080.0},
            )
        ],
        "incidents_not_listed": 2,
    }
    return MonthlyReport(**{**fields, **changes})
