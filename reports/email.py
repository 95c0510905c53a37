"""The monthly report as an email: subject, text body and HTML alternative, rendered from a
MonthlyReport (reports/report.py).

Gmail and Outlook show no SVG, and Outlook lays out only tables, so the charts are bars drawn
as table cells whose width is the value's share of the largest, coloured by both a bgcolor
attribute (Outlook) and an inline style (everyone else). Every figure the HTML shows is in the
text body too, the bars there drawn with '#'.

The email is the same for every recipient: it is rendered once per month and sent to each.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from postmortems.models import ActionItemStatus as ActionItemState
from reports.builder import TOP_SERVICES
from reports.durations import duration_text, target_text
from reports.export import absolute
from reports.recommendations import (
    acknowledgement_over_target,
    mttr_targets,
    resolution_over_target,
)
from reports.report import (
    EMPTY,
    Count,
    Distribution,
    GroupFigures,
    MetricFigures,
    MonthlyReport,
    Recommendation,
)

# The metrics the email's summary and severity table show: the playbook's MTTA and MTTR.
SUMMARY_METRICS = ("time_to_acknowledge", "time_to_resolve")
# Widest text bar, in characters.
TEXT_BAR_WIDTH = 30
COUNT_COLOUR = "#2643c4"
DURATION_COLOUR = "#b45309"
# The report's own month stands out from the twelve before it.
CURRENT_COUNT_COLOUR = "#172a80"
CURRENT_DURATION_COLOUR = "#7c2d12"


@dataclass(frozen=True)
class ReportEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Bar:
    """One row of a chart: `percent` of the widest bar (at least 1 when the value is not
    zero, so a small value still shows), `rest` the empty remainder of the row."""

    label: str
    value: str
    percent: int
    colour: str
    text_bar: str

    @property
    def rest(self) -> int:
        return 100 - self.percent


@dataclass(frozen=True)
class Figures:
    """A Distribution as the email prints it."""

    n: int
    left_out: int
    mean: str
    median: str
    p90: str
    max: str


@dataclass(frozen=True)
class SummaryMetric:
    short: str
    label: str
    this_month: Figures
    previous_month: Figures


@dataclass(frozen=True)
class SeverityRow:
    name: str
    incidents: int
    previous_incidents: int
    open: int
    mtta: Figures
    mttr: Figures
    target: str
    within_target: int | None
    # Both by reports.recommendations' rule (the median above the target), so a row flagged here
    # is a severity the recommendations name.
    over_target: bool
    mttr_target: str = ""
    mttr_over_target: bool = False


def duration(seconds: float | None) -> str:
    return duration_text(seconds, missing="n/a")


def figures(distribution: Distribution) -> Figures:
    return Figures(
        n=distribution.n,
        left_out=distribution.left_out,
        mean=duration(distribution.mean),
        median=duration(distribution.median),
        p90=duration(distribution.p90),
        max=duration(distribution.max),
    )


def bars(values: Sequence[tuple[str, float | None, str, str]]) -> list[Bar]:
    """(label, value, value as text, colour) rows as bars scaled to the largest value; a
    missing value (no incident measured) draws no bar."""
    largest = max((value or 0 for _, value, _, _ in values), default=0)
    rows = []
    for label, value, text, colour in values:
        share = (value or 0) / largest if largest else 0
        percent = max(round(share * 100), 1) if share else 0
        characters = max(round(share * TEXT_BAR_WIDTH), 1) if share else 0
        rows.append(Bar(label, text, percent, colour, "#" * characters))
    return rows


def _metric(figures_by_key: list[MetricFigures], key: str) -> MetricFigures | None:
    return next((each for each in figures_by_key if each.metric.key == key), None)


def _summary_metrics(report: MonthlyReport) -> list[SummaryMetric]:
    rows = []
    for key in SUMMARY_METRICS:
        metric = _metric(report.overall, key)
        if metric is not None:
            rows.append(
                SummaryMetric(
                    short=metric.metric.short,
                    label=metric.metric.label,
                    this_month=figures(metric.this_month),
                    previous_month=figures(metric.previous_month),
                )
            )
    return rows


def _severity_rows(groups: list[GroupFigures]) -> list[SeverityRow]:
    resolution_targets = mttr_targets()
    rows = []
    for group in groups:
        target = group.response_target
        mttr_target = resolution_targets.get(group.name)
        rows.append(
            SeverityRow(
                name=group.name,
                incidents=group.incidents,
                previous_incidents=group.previous_incidents,
                open=group.open,
                mtta=figures(group.figures.get("time_to_acknowledge", EMPTY)),
                mttr=figures(group.figures.get("time_to_resolve", EMPTY)),
                target=target_text(target) if target else "",
                within_target=group.within_target,
                over_target=acknowledgement_over_target(group),
                mttr_target=target_text(mttr_target) if mttr_target else "",
                mttr_over_target=resolution_over_target(group, resolution_targets),
            )
        )
    return rows


def _trend_bars(report: MonthlyReport) -> tuple[list[Bar], list[Bar]]:
    counts, mttrs = [], []
    for point in report.trend:
        current = point.month == report.month
        counts.append(
            (
                point.month.label,
                float(point.incidents),
                str(point.incidents),
                CURRENT_COUNT_COLOUR if current else COUNT_COLOUR,
            )
        )
        mttr = point.mttr
        mttrs.append(
            (
                point.month.label,
                mttr.median,
                f"{duration(mttr.median)} (n={mttr.n})",
                CURRENT_DURATION_COLOUR if current else DURATION_COLOUR,
            )
        )
    return bars(counts), bars(mttrs)


def _count_bars(counts: list[Count]) -> list[Bar]:
    return bars([(each.name, float(each.count), str(each.count), COUNT_COLOUR) for each in counts])


def _action_items(report: MonthlyReport) -> dict[str, Any] | None:
    items = report.action_items
    if items is None:
        return None
    return {
        "total": items.total,
        "by_status": [
            (state.label, items.by_status.get(state.value, 0)) for state in ActionItemState
        ],
        "overdue": items.overdue,
        "done_on_time": items.done_on_time,
    }


def _recommendations(report: MonthlyReport) -> list[Recommendation]:
    return [
        Recommendation(each.kind, each.text, absolute(each.link)) for each in report.recommendations
    ]


def report_url(report: MonthlyReport) -> str:
    return settings.BASE_URL + reverse("reports:monthly", args=[str(report.month)])


def context(report: MonthlyReport) -> dict[str, Any]:
    trend_counts, trend_mttr = _trend_bars(report)
    return {
        "report": report,
        "month": report.month.label,
        "anchor": report.anchor.words,
        "summary_metrics": _summary_metrics(report),
        "severities": _severity_rows(report.by_severity),
        "trend_counts": trend_counts,
        "trend_mttr": trend_mttr,
        "top_services": _count_bars(report.top_services[:TOP_SERVICES]),
        "cause_categories": report.cause_categories[:TOP_SERVICES],
        "action_items": _action_items(report),
        "recommendations": _recommendations(report),
        "definitions": report.metrics,
        "url": report_url(report),
    }


def report_subject(report: MonthlyReport) -> str:
    return f"Incident report for {report.month.label}"


def report_email(report: MonthlyReport) -> ReportEmail:
    values = context(report)
    return ReportEmail(
        subject=report_subject(report),
        text=_tidy(render_to_string("reports/email/monthly.txt", values)),
        html=render_to_string("reports/email/monthly.html", values),
    )


def _tidy(text: str) -> str:
    # A bar of no length leaves its row's padding behind; some clients show trailing spaces.
    return "\n".join(line.rstrip() for line in text.strip().splitlines()) + "\n"


def report_message(
    email: ReportEmail, *, to: str, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        to=[to],
        headers={
            # RFC 3834: keeps vacation responders from answering.
            "Auto-Submitted": "auto-generated",
            **(headers or {}),
        },
    )
    message.attach_alternative(email.html, "text/html")
    return message
