"""The report outside the page: CSV of the month's incidents, JSON, Markdown (the API, the
page's download and `manage.py incident_report` all use these).

The CSV is UTF-8 with a byte order mark, which Excel needs to read it as UTF-8.

Times are written in the organisation's zone with their offset (a reader in another zone still
knows the instant), durations as hh:mm:ss in the CSV and Markdown (hours run past 24, so a
spreadsheet sums them) and as seconds in the JSON.
"""

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from postmortems.models import ActionItemStatus as ItemStatus
from reports.builder import incident_rows
from reports.definitions import Metric, metrics
from reports.durations import clock_duration
from reports.load import load_definitions
from reports.months import Month, organisation_zone
from reports.report import (
    EMPTY,
    ActionItemStatus,
    Count,
    Distribution,
    GroupFigures,
    IncidentRow,
    MonthlyReport,
    Recommendation,
    ResponderLoad,
)

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"):
# such a cell gets a leading quote, which the spreadsheet shows and does not run.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

BYTE_ORDER_MARK = "\ufeff"

CSV_TIMES = (
    "started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "last_resolved_at",
)


def incident_url(number: int) -> str:
    """The incident's page as people outside Tocsin reach it."""
    return settings.BASE_URL + reverse("incidents:detail", kwargs={"number": number})


def incident_urls() -> Callable[[int], str]:
    """incident_url() for a CSV's many rows: the URL conf is asked once, each number put where
    0 went (reverse() on every row was 40 % of a large month's CSV time)."""
    head, _, tail = incident_url(0).rpartition("0")
    return lambda number: f"{head}{number}{tail}"


def absolute(link: str) -> str:
    return settings.BASE_URL + link if link.startswith("/") else link


def iso(when: datetime | None, zone: ZoneInfo, timespec: str = "auto") -> str | None:
    return when.astimezone(zone).isoformat(timespec=timespec) if when is not None else None


def spreadsheet_safe(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class _Line:
    """A file for csv.writer that keeps nothing: write() hands the line back, so each row is
    yielded as it is written and a month of incidents never sits in memory."""

    def write(self, line: str) -> str:
        return line


def csv_lines(month: Month, *, byte_order_mark: bool = False) -> Iterator[str]:
    """The month's incidents as CSV text, a line at a time (header first), formula-safe: what
    the page's download and incident_report write. `byte_order_mark` for a file a spreadsheet
    opens (the download, incident_report --output), not for a pipe: a program reading the
    text would find it in the first column's name."""
    lines = incidents_csv(incident_rows(month))
    if byte_order_mark:
        # Excel on Windows reads a CSV without one in the ANSI code page, and shows "échoué"
        # as "Ã©chouÃ©". It precedes the header's first cell, never a row's, so it does not
        # hide a formula from spreadsheet_safe.
        yield BYTE_ORDER_MARK + next(lines)
    yield from lines


def incidents_csv(rows: Iterable[IncidentRow]) -> Iterator[str]:
    zone = organisation_zone()
    measured = metrics()
    writer = csv.writer(_Line())
    url = incident_urls()
    header = [
        "reference",
        "title",
        "severity",
        "status",
        "team",
        "services",
        *CSV_TIMES,
        "reopen_count",
        *(metric.key for metric in measured),
        "url",
    ]
    yield writer.writerow(header)
    for row in rows:
        cells = [
            row.ref,
            row.title,
            row.severity,
            row.status,
            row.team,
            row.services,
            *(iso(getattr(row, name), zone, "seconds") or "" for name in CSV_TIMES),
            str(row.reopen_count),
            *(clock_duration(row.durations.get(metric.key)) for metric in measured),
            url(row.number),
        ]
        yield writer.writerow([spreadsheet_safe(cell) for cell in cells])


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _distribution(figures: Distribution) -> dict[str, Any]:
    return {
        "n": figures.n,
        "left_out": figures.left_out,
        "mean": figures.mean,
        "median": figures.median,
        "p90": figures.p90,
        "max": figures.max,
    }


def _metric(metric: Metric) -> dict[str, Any]:
    return {
        "key": metric.key,
        "short": metric.short,
        "label": metric.label,
        "definition": metric.definition,
        "start_field": metric.start_field,
        "end_field": metric.end_field,
    }


def _group(group: GroupFigures, measured: list[Metric]) -> dict[str, Any]:
    return {
        "name": group.name,
        "incidents": group.incidents,
        "open": group.open,
        "previous_incidents": group.previous_incidents,
        "slug": group.slug,
        "figures": {m.key: _distribution(group.figures.get(m.key, EMPTY)) for m in measured},
        "response_target": _seconds(group.response_target),
        "within_target": group.within_target,
        "rank": group.rank,
    }


def _counts(counts: list[Count]) -> list[dict[str, Any]]:
    return [{"name": count.name, "count": count.count} for count in counts]


def _action_items(status: ActionItemStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "total": status.total,
        "by_status": dict(status.by_status),
        "overdue": status.overdue,
        "done_on_time": status.done_on_time,
    }


def _load(person: ResponderLoad) -> dict[str, Any]:
    return {
        "user_id": person.user_id,
        "name": person.name,
        "pages": person.pages,
        "off_hours_pages": person.off_hours_pages,
        "interruptions": person.interruptions,
        "off_hours_interruptions": person.off_hours_interruptions,
        "incidents_commanded": person.incidents_commanded,
        "commander_seconds": person.commander_seconds,
    }


def _recommendation(recommendation: Recommendation) -> dict[str, Any]:
    return {
        "kind": recommendation.kind,
        "text": recommendation.text,
        "link": absolute(recommendation.link) if recommendation.link else "",
    }


def _row(row: IncidentRow, zone: ZoneInfo, measured: list[Metric]) -> dict[str, Any]:
    return {
        "reference": row.ref,
        "number": row.number,
        "title": row.title,
        "private": row.private,
        "severity": row.severity,
        "status": row.status,
        "team": row.team,
        "services": row.services,
        **{name: iso(getattr(row, name), zone) for name in CSV_TIMES},
        "reopen_count": row.reopen_count,
        "durations": {m.key: row.durations.get(m.key) for m in measured},
        "url": incident_url(row.number),
    }


def report_json(report: MonthlyReport) -> dict[str, Any]:
    """The whole report as JSON values: durations in seconds (null when nothing was measured),
    times in ISO 8601 with the offset of the report's zone."""
    zone = ZoneInfo(report.time_zone)
    return {
        "month": str(report.month),
        "label": report.month.label,
        "time_zone": report.time_zone,
        "starts_at": iso(report.month.start(zone), zone),
        "ends_at": iso(report.month.end(zone), zone),
        "generated_at": iso(report.generated_at, zone),
        "anchor": report.anchor.value,
        "metrics": [_metric(metric) for metric in report.metrics],
        "totals": {
            "incidents": report.incidents,
            "open": report.open,
            "drills_excluded": report.drills_excluded,
            "merged_excluded": report.merged_excluded,
            "reopened_incidents": report.reopened_incidents,
            "reopens": report.reopens,
            "previous_incidents": report.previous_incidents,
        },
        "overall": {
            figures.metric.key: {
                "this_month": _distribution(figures.this_month),
                "previous_month": _distribution(figures.previous_month),
            }
            for figures in report.overall
        },
        "by_severity": [_group(group, report.metrics) for group in report.by_severity],
        "by_service": [_group(group, report.metrics) for group in report.by_service],
        "by_team": [_group(group, report.metrics) for group in report.by_team],
        "trend": [
            {
                "month": str(point.month),
                "incidents": point.incidents,
                "mttr": _distribution(point.mttr),
            }
            for point in report.trend
        ],
        "top_services": _counts(report.top_services),
        "cause_categories": _counts(report.cause_categories),
        "contributing_factors": _counts(report.contributing_factors),
        "action_items": _action_items(report.action_items),
        "responder_load": [_load(person) for person in report.load],
        "recommendations": [_recommendation(r) for r in report.recommendations],
        "incidents": [_row(row, zone, report.metrics) for row in report.incident_rows],
        "incidents_not_listed": report.incidents_not_listed,
    }


# Characters Markdown would read as markup inside a line; a title is text, never formatting.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
NOTHING = "—"


def md_text(text: str) -> str:
    """`text` as literal Markdown on one line: markup escaped, line breaks as spaces."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> list[str]:
    """A pipe table (GitHub, GitLab, most wikis); columns from `numeric_from` right-aligned."""
    if not rows:
        return ["None.", ""]
    rule = ["---" if i < numeric_from else "--:" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(rule) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _duration(seconds: float | None) -> str:
    return clock_duration(seconds) or NOTHING


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M") if when is not None else NOTHING


def _summary(report: MonthlyReport) -> list[str]:
    previous = report.month.previous().label
    lines = [
        f"- **{_plural(report.incidents, 'incident')}** ({previous}: "
        f"{report.previous_incidents}); {report.open} still open.",
    ]
    if report.by_severity:
        counts = ", ".join(f"{g.incidents} {md_text(g.name)}" for g in report.by_severity)
        lines.append(f"- By severity: {counts}.")
    for figures in report.overall:
        if figures.metric.key not in ("time_to_acknowledge", "time_to_resolve"):
            continue
        this = figures.this_month
        lines.append(
            f"- {figures.metric.label} ({figures.metric.short}): median "
            f"{_duration(this.median)}, mean {_duration(this.mean)} over "
            f"{_plural(this.n, 'incident')} ({this.left_out} left out); {previous}: median "
            f"{_duration(figures.previous_month.median)} over {figures.previous_month.n}."
        )
    lines.append(
        f"- Reopened: {_plural(report.reopened_incidents, 'incident')} "
        f"({_plural(report.reopens, 'reopen')}), counted apart from time to resolve."
    )
    lines.append(
        f"- Left out of every figure: {_plural(report.drills_excluded, 'drill')}, and "
        f"{_plural(report.merged_excluded, 'duplicate')} merged into another incident."
    )
    return [*lines, ""]


def _metrics_table(report: MonthlyReport) -> list[str]:
    previous = report.month.previous().label
    rows = [
        [
            f"{figures.metric.short}: {figures.metric.label}",
            str(figures.this_month.n),
            str(figures.this_month.left_out),
            _duration(figures.this_month.mean),
            _duration(figures.this_month.median),
            _duration(figures.this_month.p90),
            _duration(figures.this_month.max),
            str(figures.previous_month.n),
            _duration(figures.previous_month.median),
        ]
        for figures in report.overall
    ]
    header = ["Metric", "n", "Left out", "Mean", "Median", "p90", "Max"]
    return _table([*header, f"n ({previous})", f"Median ({previous})"], rows)


def _severity_table(report: MonthlyReport) -> list[str]:
    rows = []
    for group in report.by_severity:
        ack = group.figures.get("time_to_acknowledge", EMPTY)
        resolve = group.figures.get("time_to_resolve", EMPTY)
        within = f"{group.within_target} of {ack.n}" if group.within_target is not None else ""
        rows.append(
            [
                md_text(group.name),
                str(group.incidents),
                str(group.open),
                clock_duration(_seconds(group.response_target)) or NOTHING,
                within or NOTHING,
                _duration(ack.median),
                str(ack.n),
                _duration(resolve.median),
                str(resolve.n),
                _duration(resolve.p90),
            ]
        )
    header = ["Severity", "Incidents", "Open", "Response target", "Acknowledged within"]
    return _table([*header, "MTTA median", "MTTA n", "MTTR median", "MTTR n", "MTTR p90"], rows)


def _group_table(title: str, groups: list[GroupFigures]) -> list[str]:
    rows = []
    for group in groups:
        ack = group.figures.get("time_to_acknowledge", EMPTY)
        resolve = group.figures.get("time_to_resolve", EMPTY)
        rows.append(
            [
                md_text(group.name),
                str(group.incidents),
                str(group.previous_incidents),
                str(group.open),
                _duration(ack.median),
                str(ack.n),
                _duration(resolve.median),
                str(resolve.n),
                _duration(resolve.p90),
            ]
        )
    header = [title, "Incidents", "Previous month", "Open", "MTTA median", "MTTA n"]
    return _table([*header, "MTTR median", "MTTR n", "MTTR p90"], rows)


def _trend_table(report: MonthlyReport) -> list[str]:
    rows = [
        [
            point.month.label,
            str(point.incidents),
            _duration(point.mttr.median),
            str(point.mttr.n),
            _duration(point.mttr.p90),
        ]
        for point in report.trend
    ]
    return _table(["Month", "Incidents", "MTTR median", "MTTR n", "MTTR p90"], rows)


def _counts_table(title: str, counts: list[Count]) -> list[str]:
    return _table([title, "Incidents"], [[md_text(c.name), str(c.count)] for c in counts])


def _action_items_lines(status: ActionItemStatus | None) -> list[str]:
    if status is None:
        return ["No action item on this month's incidents, and none overdue.", ""]
    labels = dict(ItemStatus.choices)
    by_status = ", ".join(
        f"{md_text(labels.get(name, name)).lower()} {count}"
        for name, count in status.by_status.items()
    )
    return [
        f"- {_plural(status.total, 'action item')} on this month's incidents"
        + (f": {by_status}." if by_status else "."),
        f"- Done on time: {status.done_on_time}.",
        f"- Overdue now, whatever month they came from: {status.overdue}.",
        "",
    ]


def _load_table(report: MonthlyReport) -> list[str]:
    rows = [
        [
            md_text(person.name),
            str(person.pages),
            str(person.off_hours_pages),
            str(person.interruptions),
            str(person.off_hours_interruptions),
            str(person.incidents_commanded),
            clock_duration(person.commander_seconds),
        ]
        for person in report.load
    ]
    header = ["Person", "Pages", "Off-hours pages", "Interruptions", "Off-hours interruptions"]
    return _table([*header, "Commanded", "Time as commander"], rows)


def _recommendation_lines(report: MonthlyReport) -> list[str]:
    if not report.recommendations:
        return ["None: no rule was crossed this month.", ""]
    lines = []
    for recommendation in report.recommendations:
        line = f"- {md_text(recommendation.text)}"
        if recommendation.link:
            line += f" ([details]({absolute(recommendation.link)}))"
        lines.append(line)
    return [*lines, ""]


def _incidents_table(report: MonthlyReport, zone: ZoneInfo) -> list[str]:
    rows = [
        [
            f"[{row.ref}]({incident_url(row.number)})",
            md_text(row.title),
            md_text(row.severity),
            md_text(row.status),
            _local(row.started_at, zone),
            _duration(row.durations.get("time_to_resolve")),
            str(row.reopen_count),
        ]
        for row in report.incident_rows
    ]
    header = ["Incident", "Title", "Severity", "Status", "Started", "Time to resolve", "Reopens"]
    lines = _table(header, rows, numeric_from=5)
    if report.incidents_not_listed:
        lines += [
            f"And {report.incidents_not_listed} more: the CSV export lists every incident.",
            "",
        ]
    return lines


def _definitions(report: MonthlyReport) -> list[str]:
    return [
        *(f"- **{m.short}, {m.label.lower()}**: {m.definition}" for m in report.metrics),
        "- **n**: the incidents a figure measures. **Left out**: those it could not (still "
        "open, or a time missing, e.g. never acknowledged).",
        "- **Median**: half of the measured incidents took at most this long; each severity "
        "is held against its targets by its median. **p90 (interpolated)**: the 90th "
        "percentile, interpolated between the two nearest incidents, so it may be no incident's "
        "own time. Durations are hours:minutes:seconds, the fraction of a second dropped.",
        "- Drills, and incidents merged into another (duplicates), are left out of every figure. "
        "An incident with several services counts under each of them.",
        *(f"- **{d.term}** (responder load): {d.text}" for d in load_definitions()),
        "",
    ]


def report_markdown(report: MonthlyReport) -> str:
    """The report as Markdown that reads as well in a terminal as rendered in a wiki."""
    zone = ZoneInfo(report.time_zone)
    first = report.month.start(zone).date()
    last = report.month.end(zone).date() - timedelta(days=1)
    lines = [
        f"# Incident report: {report.month.label}",
        "",
        f"Incidents whose impact began from {first.isoformat()} to {last.isoformat()} in "
        f"{report.time_zone}, drills and duplicates merged into another incident aside. Times "
        f"to acknowledge, mitigate and resolve run from {report.anchor.words}. Generated "
        f"{_local(report.generated_at, zone)} ({report.time_zone}).",
        "",
        "## Executive summary",
        "",
        *_summary(report),
        "## Metrics",
        "",
        *_metrics_table(report),
        "## By severity",
        "",
        *_severity_table(report),
        "## By service",
        "",
        *_group_table("Service", report.by_service),
        "## By team",
        "",
        *_group_table("Team", report.by_team),
        "## Trend",
        "",
        *_trend_table(report),
        "## Top services",
        "",
        *_counts_table("Service", report.top_services),
        "## Cause categories",
        "",
        *_counts_table("Category", report.cause_categories),
        "## Contributing factors",
        "",
        *_counts_table("Factor", report.contributing_factors),
        "## Action items",
        "",
        *_action_items_lines(report.action_items),
        "## Responder load",
        "",
        *_load_table(report),
        "## Recommendations",
        "",
        *_recommendation_lines(report),
        "## Incidents",
        "",
        *_incidents_table(report, zone),
        "## Definitions",
        "",
        *_definitions(report),
    ]
    return "\n".join(lines)
