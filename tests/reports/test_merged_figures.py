"""A duplicate merged into another incident: the outage is counted once, from when the first of
the two saw it (incidents.services.merge gives the survivor the earlier times)."""

from datetime import UTC, datetime

import pytest

from accounts.models import User
from incidents.services import incident_acknowledge, incident_merge, incident_resolve
from reports.builder import monthly_report
from reports.months import Month
from tests.clock import Clock
from tests.factories import declare

pytestmark = pytest.mark.django_db


def _overall(report, key: str):
    return next(f.this_month for f in report.overall if f.metric.key == key)


def test_a_merged_outage_is_timed_from_the_duplicate_s_detection(clock: Clock, responder: User):
    # 09:00 Alertmanager's incident; 09:30 somebody declares the same outage by hand and
    # acknowledges it; 09:35 the first is merged into the second; resolved at 09:45.
    clock.now = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    first = declare(responder, title="Checkout 5xx above 5 %")
    clock.now = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    survivor = declare(responder, title="Checkout is failing")
    incident_acknowledge(incident=survivor, actor=responder)
    clock.now = datetime(2026, 11, 3, 9, 35, tzinfo=UTC)
    incident_merge(incident=first, into=survivor, actor=responder)
    clock.now = datetime(2026, 11, 3, 9, 45, tzinfo=UTC)
    incident_resolve(incident=survivor, actor=responder)
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    report = monthly_report(Month(2026, 11))

    assert (report.incidents, report.merged_excluded) == (1, 1)
    assert _overall(report, "time_to_resolve").max == 45 * 60
    assert _overall(report, "time_to_acknowledge").max == 30 * 60
