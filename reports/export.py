"""The report outside the page: CSV of the month's incidents, JSON, Markdown (the API, the
page's download and `manage.py incident_report` all use these)."""

from collections.abc import Iterator
from typing import Any

from reports.months import Month
from reports.report import MonthlyReport


def csv_lines(month: Month) -> Iterator[str]:
    """The month's incidents as CSV text, a line at a time (header first), formula-safe."""
    raise NotImplementedError


def report_json(report: MonthlyReport) -> dict[str, Any]:
    raise NotImplementedError


def report_markdown(report: MonthlyReport) -> str:
    raise NotImplementedError
