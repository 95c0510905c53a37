"""The exports: the month's incidents as CSV, the report as JSON and as Markdown.

The CSV is read from incidents stamped through the services (tests/reports/export_support.py);
the JSON and Markdown from a report built by hand, every figure written out.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from reports.export import (
    BYTE_ORDER_MARK,
    clock_duration,
    csv_lines,
    incident_url,
    incident_urls,
    incidents_csv,
    report_json,
    report_markdown,
)
from reports.months import Month
from reports.report import IncidentRow
from tests.factories import declare
from tests.reports.export_support import (
    BASE_URL,
    NOVEMBER,
    TTA,
    TTD,
    TTM,
    TTR,
    export_settings,
    hand_built_report,
    incident_row,
    november,
    utc,
)

HEADER = (
    "reference,title,severity,status,team,services,started_at,detected_at,declared_at,"
    "acknowledged_at,mitigated_at,resolved_at,last_resolved_at,reopen_count,time_to_detect,"
    "time_to_acknowledge,time_to_mitigate,time_to_resolve,url\r\n"
)


@pytest.fixture(autouse=True)
def paris(settings):
    export_settings(settings)


@pytest.fixture
def month(clock, responder):
    return november(clock, responder)


def _records(lines: Iterator[str]) -> list[dict[str, str]]:
    # Read as a spreadsheet reads the file: the byte order mark says UTF-8 and is no text.
    return list(csv.DictReader(io.StringIO("".join(lines).removeprefix(BYTE_ORDER_MARK))))


def _by_reference(month: Month = NOVEMBER) -> dict[str, dict[str, str]]:
    return {record["reference"]: record for record in _records(csv_lines(month))}


# --- CSV ------------------------------------------------------------------------------------


def test_a_csv_file_starts_with_a_byte_order_mark_then_its_header(month):
    # Without the mark Excel on Windows reads UTF-8 as its ANSI code page: "Ã©chouÃ©".
    assert next(iter(csv_lines(NOVEMBER, byte_order_mark=True))) == "\ufeff" + HEADER


def test_csv_text_for_a_program_has_no_byte_order_mark(month):
    assert next(iter(csv_lines(NOVEMBER))) == HEADER


def test_csv_lists_the_months_incidents_newest_first_with_every_column(month):
    lines = list(csv_lines(NOVEMBER, byte_order_mark=True))

    # The first row's formula is neutralised as any other's: the mark only precedes the header.
    assert lines == [
        BYTE_ORDER_MARK + HEADER,
        'INC-4,"\'=HYPERLINK(""https://evil.example/"",""Click me"")",SEV3,detected,,,'
        "2026-11-20T11:00:00+01:00,2026-11-20T11:00:00+01:00,2026-11-20T11:00:00+01:00,"
        f",,,,0,00:00:00,,,,{BASE_URL}/incidents/4/\r\n",
        'INC-3,Checkout is failing,SEV1,resolved,Payments,"checkout, database",'
        "2026-11-03T09:00:00+01:00,2026-11-03T09:05:00+01:00,2026-11-03T09:07:00+01:00,"
        "2026-11-03T09:10:00+01:00,2026-11-03T10:00:00+01:00,2026-11-04T12:08:00+01:00,"
        f"2026-11-04T14:30:00+01:00,1,00:05:00,00:05:00,00:55:00,27:03:00,{BASE_URL}/incidents/3/"
        "\r\n",
        "INC-2,Cache stampede,SEV2,resolved,Payments,,"
        "2026-11-01T00:30:00+01:00,2026-11-01T00:30:00+01:00,2026-11-01T00:30:00+01:00,"
        "2026-11-01T01:00:00+01:00,,2026-11-01T01:00:00+01:00,2026-11-01T01:00:00+01:00,"
        f"0,00:00:00,00:30:00,,00:30:00,{BASE_URL}/incidents/2/\r\n",
    ]


def test_csv_times_are_iso_8601_with_the_organisations_offset(month, settings):
    settings.ORGANISATION_TIME_ZONE = "America/New_York"

    # 3 Nov 08:00 UTC is 03:00 in New York (UTC-05:00 since 1 November).
    assert _by_reference()["INC-3"]["started_at"] == "2026-11-03T03:00:00-05:00"


def test_csv_durations_run_past_24_hours(month):
    assert _by_reference()["INC-3"]["time_to_resolve"] == "27:03:00"


def test_csv_leaves_durations_not_measured_empty(month):
    still_open = _by_reference()["INC-4"]

    assert still_open["time_to_detect"] == "00:00:00"
    assert still_open["time_to_acknowledge"] == ""
    assert still_open["time_to_mitigate"] == ""
    assert still_open["time_to_resolve"] == ""
    assert still_open["resolved_at"] == ""


def test_csv_links_each_incident_at_the_base_url(month):
    assert _by_reference()["INC-2"]["url"] == "https://tocsin.example.com/incidents/2/"


def test_the_csv_s_links_are_the_incidents_own_addresses_whatever_their_digits(settings):
    # The CSV asks the URL conf once and puts each number in; zeros in the address and in
    # the number must not confuse where it goes.
    settings.BASE_URL = "http://10.0.0.10:8000"
    url = incident_urls()

    for number in (1, 10, 100, 2026, 41606):
        assert url(number) == incident_url(number)
    assert url(100) == "http://10.0.0.10:8000/incidents/100/"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_csv_neutralises_a_title_a_spreadsheet_would_run(clock, responder, prefix):
    clock.now = utc("2026-11-10 12:00")
    title = f"{prefix}cmd|' /C calc'!A0"
    declare(actor=responder, title=title)

    (record,) = _records(csv_lines(NOVEMBER))

    assert record["title"] == "'" + title


def test_csv_leaves_a_title_that_is_no_formula_alone(month):
    assert _by_reference()["INC-3"]["title"] == "Checkout is failing"


# Titles reach the services stripped, so a leading tab or carriage return can only come from
# elsewhere (a team or service name, an imported row): written straight from a row here.
@pytest.mark.parametrize(("prefix", "name"), [("\t", "tab"), ("\r", "carriage return")])
def test_csv_neutralises_cells_starting_with_a_tab_or_carriage_return(prefix, name):
    rows = [incident_row(title=f"{prefix}=1+1", team=f"{prefix}Payments", services=f"{prefix}api")]

    (record,) = _records(incidents_csv(rows))

    assert record["title"] == f"'{prefix}=1+1", name
    assert record["team"] == f"'{prefix}Payments"
    assert record["services"] == f"'{prefix}api"


def test_csv_neutralises_every_text_cell_not_only_the_title():
    rows = [incident_row(team="=Payments", services="@checkout, database", severity="+SEV")]

    (record,) = _records(incidents_csv(rows))

    assert (record["team"], record["services"], record["severity"]) == (
        "'=Payments",
        "'@checkout, database",
        "'+SEV",
    )


def test_csv_is_streamed_a_line_at_a_time():
    read = []

    def rows() -> Iterator[IncidentRow]:
        for number in (9, 8):
            read.append(number)
            yield incident_row(number=number, title=f"Incident {number}")

    lines = incidents_csv(rows())

    assert next(lines) == HEADER
    assert read == []
    assert next(lines).startswith("INC-9,Incident 9,")
    assert read == [9]
    assert next(lines).startswith("INC-8,Incident 8,")
    assert next(lines, None) is None


def test_csv_lines_each_end_with_one_line_break(month):
    lines = list(csv_lines(NOVEMBER))

    assert len(lines) == 4
    assert all(line.endswith("\r\n") and line.count("\n") == 1 for line in lines)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (0, "00:00:00"),
        (59.4, "00:00:59"),
        (59.5, "00:00:59"),
        (59.6, "00:00:59"),  # the fraction dropped, as everywhere in the report
        (3_599.5, "00:59:59"),
        (86_400.9, "24:00:00"),
        (3_599, "00:59:59"),
        (97_380, "27:03:00"),
        (360_000, "100:00:00"),
        (-300, "-00:05:00"),
    ],
)
def test_durations_are_written_as_hours_minutes_seconds(seconds, shown):
    assert clock_duration(seconds) == shown


# --- JSON and Markdown, from a report built by hand ---------------------------------------------


def _distribution(n, left_out, mean=None, median=None, p90=None, maximum=None):
    return {
        "n": n,
        "left_out": left_out,
        "mean": mean,
        "median": median,
        "p90": p90,
        "max": maximum,
    }


def _same_json(seconds: float):
    return _distribution(1, 0, seconds, seconds, seconds, seconds)


def test_json_holds_the_whole_report():
    assert report_json(hand_built_report()) == {
        "month": "2026-11",
        "label": "November 2026",
        "time_zone": "Europe/Paris",
        "starts_at": "2026-11-01T00:00:00+01:00",
        "ends_at": "2026-12-01T00:00:00+01:00",
        "generated_at": "2026-12-01T08:00:00+01:00",
        "anchor": "detected",
        "metrics": [
            {
                "key": "time_to_detect",
                "short": "MTTD",
                "label": "Time to detect",
                "definition": "From the start of impact to detection.",
                "start_field": "started_at",
                "end_field": "detected_at",
            },
            {
                "key": "time_to_acknowledge",
                "short": "MTTA",
                "label": "Time to acknowledge",
                "definition": "From detection to the first acknowledgement.",
                "start_field": "detected_at",
                "end_field": "acknowledged_at",
            },
            {
                "key": "time_to_mitigate",
                "short": "MTTM",
                "label": "Time to mitigate",
                "definition": "From detection to the first move to Monitoring (impact mitigated).",
                "start_field": "detected_at",
                "end_field": "mitigated_at",
            },
            {
                "key": "time_to_resolve",
                "short": "MTTR",
                "label": "Time to resolve",
                "definition": "From detection to the first resolution; reopens are counted "
                "separately.",
                "start_field": "detected_at",
                "end_field": "resolved_at",
            },
        ],
        "totals": {
            "incidents": 3,
            "open": 1,
            "drills_excluded": 1,
            "merged_excluded": 1,
            "reopened_incidents": 1,
            "reopens": 1,
            "previous_incidents": 1,
        },
        "overall": {
            TTD: {
                "this_month": _distribution(3, 0, 100.0, 0.0, 240.0, 300.0),
                "previous_month": _same_json(0.0),
            },
            TTA: {
                "this_month": _distribution(2, 1, 1050.0, 1050.0, 1650.0, 1800.0),
                "previous_month": _same_json(2700.0),
            },
            TTM: {
                "this_month": _distribution(1, 2, 3300.0, 3300.0, 3300.0, 3300.0),
                "previous_month": _distribution(0, 1),
            },
            TTR: {
                "this_month": _distribution(2, 1, 49590.0, 49590.0, 87822.0, 97380.0),
                "previous_month": _same_json(2700.0),
            },
        },
        "by_severity": [
            {
                "name": "SEV1",
                "incidents": 1,
                "open": 0,
                "previous_incidents": 0,
                "slug": "",
                "figures": {
                    TTD: _same_json(300.0),
                    TTA: _same_json(300.0),
                    TTM: _same_json(3300.0),
                    TTR: _same_json(97380.0),
                },
                "response_target": 300.0,
                "within_target": 1,
                "rank": 1,
            }
        ],
        "by_service": [
            {
                "name": "checkout | api",
                "incidents": 1,
                "open": 0,
                "previous_incidents": 2,
                "slug": "checkout",
                "figures": {
                    TTD: _distribution(0, 0),
                    TTA: _distribution(0, 0),
                    TTM: _distribution(0, 0),
                    TTR: _same_json(97380.0),
                },
                "response_target": None,
                "within_target": None,
                "rank": None,
            }
        ],
        "by_team": [],
        "trend": [
            {"month": "2026-10", "incidents": 1, "mttr": _same_json(2700.0)},
            {
                "month": "2026-11",
                "incidents": 3,
                "mttr": _distribution(2, 1, 49590.0, 49590.0, 87822.0, 97380.0),
            },
        ],
        "top_services": [{"name": "checkout", "count": 1}],
        "cause_categories": [{"name": "Deploy", "count": 1}],
        "contributing_factors": [],
        "action_items": {
            "total": 3,
            "by_status": {"open": 1, "done": 2},
            "overdue": 1,
            "done_on_time": 1,
        },
        "responder_load": [
            {
                "user_id": 7,
                "name": "Rosa Responder",
                "pages": 5,
                "off_hours_pages": 4,
                "interruptions": 3,
                "off_hours_interruptions": 2,
                "incidents_commanded": 1,
                "commander_seconds": 97380.0,
            }
        ],
        "recommendations": [
            {
                "kind": "mttr_over_target",
                "text": "SEV1 took 27:03:00 to resolve, over its 1 h target.",
                "link": f"{BASE_URL}/reports/monthly/2026-11/#by-severity",
            }
        ],
        "incidents": [
            {
                "reference": "INC-3",
                "number": 3,
                "title": "Checkout *is* failing | again",
                "private": False,
                "severity": "SEV1",
                "status": "resolved",
                "team": "Payments",
                "services": "checkout",
                "started_at": "2026-11-03T09:00:00+01:00",
                "detected_at": "2026-11-03T09:00:00+01:00",
                "declared_at": "2026-11-03T09:00:00+01:00",
                "acknowledged_at": "2026-11-03T09:10:00+01:00",
                "mitigated_at": None,
                "resolved_at": "2026-11-04T12:08:00+01:00",
                "last_resolved_at": "2026-11-04T14:30:00+01:00",
                "reopen_count": 1,
                "durations": {TTD: 0.0, TTA: 600.0, TTM: None, TTR: 97080.0},
                "url": f"{BASE_URL}/incidents/3/",
            }
        ],
        "incidents_not_listed": 2,
    }


def test_json_survives_a_round_trip_through_json():
    data = report_json(hand_built_report())

    assert json.loads(json.dumps(data)) == data


def test_json_says_which_incidents_are_private():
    row = incident_row(private=True, title="Private incident")

    (listed,) = report_json(hand_built_report(incident_rows=[row]))["incidents"]

    assert (listed["title"], listed["private"]) == ("Private incident", True)


def test_json_has_no_action_items_when_there_is_nothing_to_report():
    assert report_json(hand_built_report(action_items=None))["action_items"] is None


def test_json_keeps_fractions_of_a_second():
    when = datetime.fromisoformat("2026-11-03T08:00:00.250000+00:00")
    data = report_json(hand_built_report(generated_at=when))

    assert data["generated_at"] == "2026-11-03T09:00:00.250000+01:00"


def test_json_times_follow_the_reports_zone_across_summer_time():
    data = report_json(hand_built_report(month=Month(2026, 3)))

    # Paris moves to summer time on 29 March: March starts at +01:00 and April at +02:00.
    assert (data["starts_at"], data["ends_at"]) == (
        "2026-03-01T00:00:00+01:00",
        "2026-04-01T00:00:00+02:00",
    )


def _markdown_lines(**changes) -> list[str]:
    return report_markdown(hand_built_report(**changes)).splitlines()


def test_markdown_opens_with_the_month_zone_and_anchor():
    lines = _markdown_lines()

    assert lines[0] == "# Incident report: November 2026"
    assert lines[2] == (
        "Incidents whose impact began from 2026-11-01 to 2026-11-30 in Europe/Paris, drills "
        "and duplicates merged into another incident aside. Times to acknowledge, mitigate and "
        "resolve run from detection. Generated 2026-12-01 08:00 (Europe/Paris)."
    )


def test_markdown_summarises_the_month():
    lines = _markdown_lines()

    start = lines.index("## Executive summary") + 2
    assert lines[start : start + 6] == [
        "- **3 incidents** (October 2026: 1); 1 still open.",
        "- By severity: 1 SEV1.",
        "- Time to acknowledge (MTTA): median 00:17:30, mean 00:17:30 over 2 incidents "
        "(1 left out); October 2026: median 00:45:00 over 1.",
        "- Time to resolve (MTTR): median 13:46:30, mean 13:46:30 over 2 incidents "
        "(1 left out); October 2026: median 00:45:00 over 1.",
        "- Reopened: 1 incident (1 reopen), counted apart from time to resolve.",
        "- Left out of every figure: 1 drill, and 1 duplicate merged into another incident.",
    ]


def test_markdown_tables_each_metrics_distribution():
    lines = _markdown_lines()

    assert (
        "| MTTR: Time to resolve | 2 | 1 | 13:46:30 | 13:46:30 | 24:23:42 | 27:03:00 | 1 "
        "| 00:45:00 |"
    ) in lines
    assert (
        "| MTTM: Time to mitigate | 1 | 2 | 00:55:00 | 00:55:00 | 00:55:00 | 00:55:00 | 0 | — |"
        in (lines)
    )


def test_markdown_shows_each_severity_against_its_target():
    assert (
        "| SEV1 | 1 | 0 | 00:05:00 | 1 of 1 | 00:05:00 | 1 | 27:03:00 | 1 | 27:03:00 |"
        in _markdown_lines()
    )


def test_markdown_escapes_what_markdown_would_read_as_markup():
    lines = _markdown_lines()

    assert "| checkout \\| api | 1 | 2 | 0 | — | 0 | 27:03:00 | 1 | 27:03:00 |" in lines
    assert (
        f"| [INC-3]({BASE_URL}/incidents/3/) | Checkout \\*is\\* failing \\| again | SEV1 "
        "| resolved | 2026-11-03 09:00 | 26:58:00 | 1 |"
    ) in lines


def test_markdown_says_how_many_incidents_it_does_not_list():
    assert "And 2 more: the CSV export lists every incident." in _markdown_lines()


def test_markdown_links_recommendations_at_the_base_url():
    assert (
        "- SEV1 took 27:03:00 to resolve, over its 1 h target. "
        f"([details]({BASE_URL}/reports/monthly/2026-11/#by-severity))"
    ) in _markdown_lines()


def test_markdown_reports_action_items_and_responder_load():
    lines = _markdown_lines()

    assert "- 3 action items on this month's incidents: open 1, done 2." in lines
    assert "- Overdue now, whatever month they came from: 1." in lines
    assert "| Rosa Responder | 5 | 4 | 3 | 2 | 1 | 27:03:00 |" in lines


def test_markdown_defines_responder_load(settings):
    settings.REPORTS_WORKING_HOURS = "09:00-18:00"
    settings.REPORTS_WORKING_DAYS = [1, 2, 3, 4, 5]

    lines = _markdown_lines()

    definitions = lines[lines.index("## Definitions") :]
    assert (
        "- **Off-hours pages** (responder load): pages sent outside working hours (09:00-18:00, "
        "Monday to Friday) in the person's own time zone (the organisation's when they set none)."
    ) in definitions
    [interruptions] = [line for line in definitions if line.startswith("- **Interruptions**")]
    assert interruptions.endswith("so a page every 50 seconds for an hour is one interruption.")


def test_markdown_defines_every_metric():
    lines = _markdown_lines()

    definitions = lines[lines.index("## Definitions") + 2 :]
    assert definitions[:4] == [
        "- **MTTD, time to detect**: From the start of impact to detection.",
        "- **MTTA, time to acknowledge**: From detection to the first acknowledgement.",
        "- **MTTM, time to mitigate**: From detection to the first move to Monitoring "
        "(impact mitigated).",
        "- **MTTR, time to resolve**: From detection to the first resolution; reopens are "
        "counted separately.",
    ]


def test_markdown_says_none_where_there_is_nothing():
    lines = _markdown_lines(
        by_team=[], contributing_factors=[], action_items=None, recommendations=[]
    )

    assert lines[lines.index("## By team") + 2] == "None."
    assert lines[lines.index("## Contributing factors") + 2] == "None."
    assert lines[lines.index("## Action items") + 2] == (
        "No action item on this month's incidents, and none overdue."
    )
    assert lines[lines.index("## Recommendations") + 2] == "None: no rule was crossed this month."


def test_markdown_tables_have_as_many_cells_in_each_row_as_in_their_header():
    tables: list[list[str]] = [[]]
    for line in _markdown_lines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [table for table in tables if table]

    assert len(tables) >= 8
    for table in tables:
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in table}
        assert len(widths) == 1, table
