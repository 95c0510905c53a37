"""Builds a MonthlyReport (reports/report.py) in a fixed number of queries."""

from collections.abc import Iterator
from datetime import datetime

from reports.months import Month
from reports.report import IncidentRow, MonthlyReport

# How many of the month's incidents the page lists; the CSV has them all.
INCIDENTS_LISTED = 200


def monthly_report(month: Month, *, now: datetime | None = None) -> MonthlyReport:
    raise NotImplementedError


def incident_rows(month: Month) -> Iterator[IncidentRow]:
    """Every incident that started in the month (drills aside), newest first, streamed."""
    raise NotImplementedError
