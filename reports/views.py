"""The monthly report page and its CSV (managers and admins).

A malformed month (2026-13, abc, 1999-01) and a month that has not begun are answered with a
400 page that says why, above the month picker so the reader can choose another. A future
month is refused rather than shown empty: an empty report reads as "nothing happened".
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from accounts.requests import AuthedRequest
from incidents.permissions import Action, require
from reports import builder, charts, export
from reports.load import load_definitions
from reports.months import FIRST_YEAR, Month, current_month, reportable_month
from reports.recommendations import mttr_targets
from reports.report import MonthlyReport

TEMPLATE = "reports/monthly.html"
FIRST_MONTH = Month(FIRST_YEAR, 1)


@dataclass(frozen=True)
class Picker:
    """The month picker: a GET form to /reports/?month=…, and the months either side."""

    month: Month | None  # None on a 400 for a month that does not parse
    current: Month  # the organisation's current month, the latest with a report
    previous: Month | None
    next: Month | None
    first: Month = FIRST_MONTH


def picker(month: Month | None, current: Month) -> Picker:
    if month is None:
        return Picker(month=None, current=current, previous=None, next=None)
    return Picker(
        month=month,
        current=current,
        previous=month.previous() if month > FIRST_MONTH else None,
        next=month.next() if month < current else None,
    )


def page_context(report: MonthlyReport, *, current: Month) -> dict[str, Any]:
    """What templates/reports/monthly.html renders: the report, its picker, its charts."""
    return {
        "report": report,
        "picker": picker(report.month, current),
        # The executive summary's MTTA and MTTR, by Metric.key.
        "headline": {figures.metric.key: figures for figures in report.overall},
        # What each severity's median time to resolve should stay under (the recommendations'
        # rule), by severity name; its median time to acknowledge has its response target.
        "mttr_targets": mttr_targets(),
        "charts": [charts.incidents_chart(report.trend), charts.mttr_chart(report.trend)],
        "csv_url": reverse("reports:monthly_csv", args=[str(report.month)]),
        "load_definitions": load_definitions(),
    }


def _refused(request: AuthedRequest, problem: str, *, current: Month) -> HttpResponse:
    return render(
        request, TEMPLATE, {"problem": problem, "picker": picker(None, current)}, status=400
    )


@login_required
@require_safe
def monthly_current(request: AuthedRequest) -> HttpResponse:
    """The current month in the organisation's zone, or the month the picker's form asks for
    (?month=2026-11): either way a redirect to the month's own address."""
    require(request.user, Action.READ_REPORTS)
    current = current_month()
    asked = request.GET.get("month", "").strip()
    if not asked:
        return redirect("reports:monthly", month=str(current))
    try:
        month = reportable_month(asked, current=current)
    except ValueError as error:
        return _refused(request, str(error), current=current)
    return redirect("reports:monthly", month=str(month))


@login_required
@require_safe
def monthly(request: AuthedRequest, month: str) -> HttpResponse:
    require(request.user, Action.READ_REPORTS)
    current = current_month()
    try:
        parsed = reportable_month(month, current=current)
    except ValueError as error:
        return _refused(request, str(error), current=current)
    report = builder.monthly_report(parsed)
    return render(request, TEMPLATE, page_context(report, current=current))


@login_required
@require_safe
def monthly_csv(request: AuthedRequest, month: str) -> HttpResponse | StreamingHttpResponse:
    require(request.user, Action.READ_REPORTS)
    current = current_month()
    try:
        parsed = reportable_month(month, current=current)
    except ValueError as error:
        return _refused(request, str(error), current=current)
    # Streamed: a month of a large organisation is many thousand rows.
    response = StreamingHttpResponse(
        export.csv_lines(parsed, byte_order_mark=True), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tocsin-incidents-{parsed}.csv"'
    return response
