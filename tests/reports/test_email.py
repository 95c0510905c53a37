"""The monthly report's email, rendered from hand-built reports: charts as table bars (Gmail and
Outlook show no SVG), the same figures in the text alternative, the month in the subject."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from reports.definitions import Anchor, metrics
from reports.email import report_email, report_message
from reports.months import Month
from reports.recommendations import recommendations
from reports.report import (
    EMPTY,
    ActionItemStatus,
    Count,
    Distribution,
    GroupFigures,
    MetricFigures,
    MonthlyReport,
    Recommendation,
    TrendPoint,
)

NOVEMBER = Month(2026, 11)
# Incidents per month, November 2025 … November 2026; the largest is 8.
COUNTS = [4, 0, 2, 8, 1, 3, 5, 6, 7, 2, 4, 6, 5]
# Median MTTR per month in seconds (None: nothing resolved); the largest is 7,200 (2 h).
MTTRS = [3600, None, 1800, 7200, 900, 3600, 3600, 3600, 3600, 3600, 3600, 5400, 3900]

MTTA = Distribution(n=10, left_out=2, mean=420, median=300, p90=900, max=1200)
MTTR = Distribution(n=9, left_out=3, mean=3900, median=3600, p90=7200, max=180_000)
PREVIOUS_MTTA = Distribution(n=6, left_out=0, mean=600, median=480, p90=900, max=900)
PREVIOUS_MTTR = Distribution(n=6, left_out=0, mean=5400, median=5000, p90=7000, max=7200)


def severity(name, incidents, *, target_minutes, mtta, mttr, within, open_=0, previous=0):
    return GroupFigures(
        name=name,
        incidents=incidents,
        open=open_,
        figures={"time_to_acknowledge": mtta, "time_to_resolve": mttr},
        previous_incidents=previous,
        response_target=timedelta(minutes=target_minutes),
        within_target=within,
    )


def november_report(**changes) -> MonthlyReport:
    defined = metrics(Anchor.DETECTED)
    by_key = {metric.key: metric for metric in defined}
    report = MonthlyReport(
        month=NOVEMBER,
        time_zone="Europe/Paris",
        anchor=Anchor.DETECTED,
        generated_at=datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
        metrics=defined,
        incidents=12,
        open=3,
        drills_excluded=1,
        merged_excluded=2,
        reopened_incidents=2,
        reopens=3,
        previous_incidents=6,
        overall=[
            MetricFigures(by_key["time_to_detect"], EMPTY, EMPTY),
            MetricFigures(by_key["time_to_acknowledge"], MTTA, PREVIOUS_MTTA),
            MetricFigures(by_key["time_to_mitigate"], EMPTY, EMPTY),
            MetricFigures(by_key["time_to_resolve"], MTTR, PREVIOUS_MTTR),
        ],
        by_severity=[
            severity(
                "SEV1",
                2,
                target_minutes=15,
                # The median, 25 min, is over the 15 min target; the mean, 10 min, is not.
                mtta=Distribution(2, 0, mean=600, median=1500),
                # 2 h 30 min, over REPORTS_MTTR_TARGETS' 1 h.
                mttr=Distribution(2, 0, mean=9000, median=9000),
                within=1,
                previous=1,
            ),
            severity(
                "SEV2",
                10,
                target_minutes=30,
                # The mean, 40 min, is over the 30 min target; the median, 4 min, is not.
                mtta=Distribution(8, 2, mean=2400, median=240),
                mttr=Distribution(7, 3, mean=3000, median=2700),
                within=8,
                open_=3,
                previous=5,
            ),
        ],
        by_service=[],
        by_team=[],
        trend=[
            TrendPoint(
                NOVEMBER.minus(12 - index),
                count,
                # The mean three times the median: the bars must draw the median.
                Distribution(count, 0, mean=mttr * 3, median=mttr) if mttr else EMPTY,
            )
            for index, (count, mttr) in enumerate(zip(COUNTS, MTTRS, strict=True))
        ],
        top_services=[Count("checkout", 6), Count("search", 3), Count("<b>ledger</b>", 1)],
        cause_categories=[Count("Deployment", 4), Count("Capacity", 2)],
        contributing_factors=[],
        action_items=ActionItemStatus(
            total=9,
            by_status={"open": 4, "in_progress": 2, "done": 3},
            overdue=2,
            done_on_time=2,
        ),
        load=[],
        recommendations=[
            Recommendation(
                "mttr_over_target",
                "SEV1 incidents took 25 min to acknowledge against a 15 min target.",
                "/reports/monthly/2026-11/#by-severity",
            ),
            Recommendation("recurring_service", "checkout had 6 incidents.", ""),
        ],
    )
    return replace(report, **changes)


class Bars(HTMLParser):
    """The bar charts of an HTML email: for each <table class="bar">, the width, bgcolor
    attribute and inline style of its filled cell (None when the row has no bar)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str] | None] = []
        self._in_bar = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table" and attributes.get("class") == "bar":
            self._in_bar = True
            self.rows.append(None)
        elif tag == "td" and self._in_bar and attributes.get("bgcolor") != "#eef0f6":
            self.rows[-1] = attributes

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_bar = False


def bars_of(html: str) -> list[dict[str, str] | None]:
    parser = Bars()
    parser.feed(html)
    return parser.rows


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.BASE_URL = "https://tocsin.example"


def test_the_subject_names_the_month():
    assert report_email(november_report()).subject == "Incident report for November 2026"


def test_the_html_draws_its_charts_as_table_bars_not_svg():
    html = report_email(november_report()).html

    assert "<svg" not in html.lower()
    assert "<img" not in html.lower()
    # The 13 months of incidents, the 13 of MTTR, then the 3 top services.
    rows = bars_of(html)
    assert len(rows) == 13 + 13 + 3
    widths = [row["width"] if row else "-" for row in rows]
    # Incidents: each month's count over the largest (8); no bar for none.
    assert " ".join(widths[:13]) == "50% - 25% 100% 12% 38% 62% 75% 88% 25% 50% 75% 62%"
    # MTTR: each month's median over the largest (7,200 s); no bar where nothing was resolved.
    assert " ".join(widths[13:26]) == "50% - 25% 100% 12% 50% 50% 50% 50% 50% 50% 75% 54%"
    assert widths[26:] == ["100%", "50%", "17%"]


def test_every_bar_is_coloured_for_outlook_and_for_everyone_else():
    rows = [row for row in bars_of(report_email(november_report()).html) if row]

    for row in rows:
        colour = row["bgcolor"]
        assert colour.startswith("#")
        assert f"background-color: {colour}" in row["style"]
        assert f"width: {row['width']}" in row["style"]
    # The report's own month stands out from the twelve before it.
    incidents = bars_of(report_email(november_report()).html)[:13]
    assert {row["bgcolor"] for row in incidents[:12] if row} == {"#2643c4"}
    assert incidents[12]["bgcolor"] == "#172a80"


def test_the_html_shows_the_summary_with_each_figures_n():
    html = report_email(november_report()).html

    assert "<strong>12</strong> incidents (previous month 6), 3 still open." in html
    assert "2 reopened (3 reopens)." in html
    assert "1 drill excluded." in html
    assert "2 merged into another incident, excluded as duplicates." in html
    # The median is the headline figure; the mean stands beside it.
    assert "<strong>1 h 00 min</strong>" in html  # MTTR median, 3,600 s
    assert "1 h 05 min" in html  # MTTR mean, 3,900 s
    assert "2 d 02 h" in html  # MTTR max, 180,000 s
    assert "1 h 23 min (n=6)" in html  # previous month's MTTR median, 5,000 s
    assert "<strong>5 min 00 s</strong>" in html  # MTTA median, 300 s


def test_the_html_flags_a_severity_acknowledged_slower_than_its_target():
    html = report_email(november_report()).html

    assert '25 min (n=2)<br><span style="color: #b91c1c">over target</span>' in html
    assert (
        '2 h 30 min (n=2)<br><span style="color: #6b7280">target 1 h</span>'
        '<br><span style="color: #b91c1c">over target</span>'
    ) in html
    # SEV2's mean time to acknowledge is over its target, its median is not: no flag.
    assert html.count("over target") == 2
    assert "1 of 2" in html
    assert "8 of 8" in html


def test_the_text_alternative_carries_the_same_figures():
    text = report_email(november_report()).text

    assert text.startswith("Incident report for November 2026\n")
    assert "12 incidents (previous month 6), 3 still open." in text
    assert "1 drill excluded.\n2 merged into another incident, excluded as duplicates.\n" in text
    assert (
        "MTTA (time to acknowledge): median 5 min 00 s (n=10, 2 left out); mean 7 min 00 s, "
        "p90 15 min (interpolated), max 20 min." in text
    )
    assert (
        "MTTR (time to resolve): median 1 h 00 min (n=9, 3 left out); mean 1 h 05 min, "
        "p90 2 h 00 min (interpolated), max 2 d 02 h." in text
    )
    assert "Previous month: median 8 min 00 s (n=6)." in text
    assert "Previous month: median 1 h 23 min (n=6)." in text
    assert (
        "Median TTA 25 min (n=2), target 15 min, 1 of 2 acknowledged within it - OVER TARGET."
        in text
    )
    assert "Median TTR 2 h 30 min (n=2), target 1 h - OVER TARGET." in text
    assert "Median TTA 4 min 00 s (n=8), target 30 min, 8 of 8 acknowledged within it.\n" in text
    assert "Median TTR 45 min (n=7), target 4 h.\n" in text
    # Bars of '#' out of 30 for the largest.
    assert "February 2026       8  " + "#" * 30 + "\n" in text
    assert "November 2025       4  " + "#" * 15 + "\n" in text
    assert "December 2025       0\n" in text
    assert "November 2026       1 h 05 min (n=5)  " + "#" * 16 + "\n" in text
    assert "December 2025              n/a (n=0)\n" in text
    assert "checkout                     6  " + "#" * 30 + "\n" in text
    assert "Causes: Deployment (4), Capacity (2)." in text
    assert (
        "9 on this month's incidents: open 4, in progress 2, done 3, won't do 0; "
        "2 done on time.\n2 overdue (from any month)." in text
    )


def test_the_text_is_not_html_escaped_and_the_html_is():
    email = report_email(november_report())

    assert "<b>ledger</b>" in email.text
    assert "&lt;b&gt;ledger&lt;/b&gt;" in email.html
    assert "<b>ledger</b>" not in email.html
    assert "won't do 0" in email.text


def test_both_bodies_link_to_the_report_page_and_recommendations_to_absolute_urls():
    email = report_email(november_report())
    page = "https://tocsin.example/reports/monthly/2026-11/"

    assert f'href="{page}"' in email.html
    assert f"The full report: {page}" in email.text
    assert f'href="{page}#by-severity"' in email.html
    assert (
        "- SEV1 incidents took 25 min to acknowledge against a 15 min target.\n"
        f"  {page}#by-severity\n" in email.text
    )
    assert "- checkout had 6 incidents.\n" in email.text


def test_the_footer_defines_each_metric_and_the_month():
    email = report_email(november_report())

    for body in (email.text, email.html):
        assert (
            "Incidents count in the month they started, in Europe/Paris; drills and incidents "
            "merged into another are left out." in body
        )
        assert (
            "MTTR (time to resolve): From detection to the first resolution; reopens are "
            "counted separately." in body
        )
        assert "MTTD (time to detect): From the start of impact to detection." in body


def test_an_empty_month_says_so_and_draws_no_bar():
    empty = november_report(
        incidents=0,
        open=0,
        drills_excluded=0,
        merged_excluded=0,
        reopened_incidents=0,
        reopens=0,
        previous_incidents=0,
        overall=[MetricFigures(metric, EMPTY, EMPTY) for metric in metrics(Anchor.DETECTED)],
        by_severity=[],
        trend=[TrendPoint(NOVEMBER.minus(12 - index), 0, EMPTY) for index in range(13)],
        top_services=[],
        cause_categories=[],
        action_items=None,
        recommendations=[],
    )

    email = report_email(empty)

    assert bars_of(email.html) == [None] * 26
    assert "0 incidents (previous month 0)." in email.text
    assert "median n/a (n=0, 0 left out); mean n/a, p90 n/a (interpolated), max n/a." in email.text
    assert "No incident named a service." in email.text
    assert "No action item on this month's incidents, and none overdue." in email.text
    assert "No action item on this month's incidents, and none overdue." in email.html
    assert "None this month." in email.text
    assert "BY SEVERITY" not in email.text
    assert "drill" not in email.text.split("--")[0]
    assert "merged" not in email.text.split("--")[0]


def test_a_busy_month_stays_under_the_size_gmail_clips_at():
    busy = november_report(
        top_services=[Count(f"service-{n}", 100 - n) for n in range(60)],
        cause_categories=[Count(f"cause-{n}", 50 - n) for n in range(30)],
        recommendations=[
            Recommendation("recurring_service", f"service-{n} had {100 - n} incidents.", "/x/")
            for n in range(20)
        ],
    )

    html = report_email(busy).html

    # Gmail cuts the message off behind a "View entire message" link past 102 KB.
    assert len(html.encode()) < 102 * 1024 * 3 // 4
    assert len(bars_of(html)) == 13 + 13 + 5  # the top five services only


def test_the_message_is_text_with_an_html_alternative():
    email = report_email(november_report())

    message = report_message(email, to="mona@example.com", headers={"X-Test": "1"}).message()

    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Incident report for November 2026"
    assert message["To"] == "mona@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Test"] == "1"
    assert message.get_body(("plain",)).get_content() == email.text
    assert message.get_body(("html",)).get_content().strip() == email.html.strip()


def test_the_email_flags_over_target_exactly_the_severities_the_recommendations_name(settings):
    settings.REPORTS_MTTR_TARGETS = {"SEV1": 60, "SEV2": 240}
    report = november_report()
    named = {
        (each.kind, each.text.split(":")[0])
        for each in recommendations(
            by_severity=report.by_severity, by_service=[], action_items=None, load=[]
        )
    }

    text = report_email(report).text
    flagged = set()
    for block in text.split("BY SEVERITY")[1].split("INCIDENTS PER MONTH")[0].split("\nSEV")[1:]:
        name = "SEV" + block.split(":")[0]
        for line in block.splitlines():
            if line.endswith("OVER TARGET."):
                kind = "mtta_over_target" if "Median TTA" in line else "mttr_over_target"
                flagged.add((kind, name))

    assert flagged == named == {("mtta_over_target", "SEV1"), ("mttr_over_target", "SEV1")}
