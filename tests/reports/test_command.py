"""`manage.py incident_report`: the monthly report as Markdown, CSV or JSON."""

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.reports.export_support import BASE_URL, export_settings, november


@pytest.fixture(autouse=True)
def paris(settings):
    export_settings(settings)


@pytest.fixture
def month(clock, responder):
    # The clock stops at 30 November 23:40 UTC: 1 December 00:40 in Paris.
    return november(clock, responder)


def _report(*args: str) -> str:
    out = StringIO()
    call_command("incident_report", *args, stdout=out)
    return out.getvalue()


def test_markdown_is_the_default(month):
    lines = _report("--month", "2026-11").splitlines()

    assert lines[0] == "# Incident report: November 2026"
    assert "- **3 incidents** (October 2026: 1); 1 still open." in lines
    assert (
        f"| [INC-3]({BASE_URL}/incidents/3/) | Checkout is failing | SEV1 | resolved "
        "| 2026-11-03 09:00 | 27:03:00 | 1 |"
    ) in lines


def test_markdown_on_request(month):
    assert _report("--month", "2026-11", "--format", "md") == _report("--month", "2026-11")


def test_csv_lists_the_months_incidents(month):
    printed = _report("--month", "2026-11", "--format", "csv")
    lines = printed.splitlines(keepends=True)

    # No byte order mark on standard output: a program reading it would find the mark in
    # the first column's name.
    assert printed.startswith("reference,title,severity,status,")
    assert [line.split(",")[0] for line in lines[1:]] == ["INC-4", "INC-3", "INC-2"]
    assert all(line.endswith("\r\n") for line in lines)


def test_json_is_the_whole_report(month):
    report = json.loads(_report("--month", "2026-11", "--format", "json"))

    assert report["month"] == "2026-11"
    assert report["totals"]["incidents"] == 3
    assert report["overall"]["time_to_resolve"]["this_month"]["max"] == pytest.approx(97380)


def test_the_month_defaults_to_the_one_before_in_the_organisations_zone(month):
    # Still November in UTC, already December in Paris: the month before is November.
    report = json.loads(_report("--format", "json"))

    assert report["month"] == "2026-11"


def test_output_goes_to_a_file_when_asked(month, tmp_path: Path):
    target = tmp_path / "november.csv"

    printed = _report("--month", "2026-11", "--format", "csv", "--output", str(target))

    assert printed == ""
    # A file is for a spreadsheet: the byte order mark first, for Excel on Windows to read it
    # as UTF-8; then the same text as standard output gets.
    assert target.read_bytes().startswith(b"\xef\xbb\xbfreference,")
    assert target.read_bytes().decode() == "\ufeff" + _report(
        "--month", "2026-11", "--format", "csv"
    )


def test_an_output_file_that_cannot_be_written_is_an_error(month, tmp_path: Path):
    target = tmp_path / "missing" / "november.md"

    with pytest.raises(CommandError, match=r"^Cannot write .*november\.md: "):
        _report("--month", "2026-11", "--output", str(target))


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "'2026-13' is not a month: the month is 01 to 12."),
        ("November", "'November' is not a month: write it as YYYY-MM, e.g. 2026-11."),
        ("1999-12", "'1999-12' is out of range: years 2000 to 2100."),
    ],
)
def test_a_month_that_is_not_one_is_an_error_saying_so(db, month, message):
    with pytest.raises(CommandError) as error:
        _report("--month", month)

    assert str(error.value) == message


def test_an_unknown_format_is_an_error(db):
    with pytest.raises(CommandError, match="invalid choice: 'pdf'"):
        _report("--month", "2026-11", "--format", "pdf")


def test_a_month_that_has_not_begun_is_an_error_saying_so(db, clock):
    clock.now = datetime(2026, 11, 20, 12, tzinfo=UTC)

    with pytest.raises(CommandError) as error:
        _report("--month", "2026-12")

    assert (
        str(error.value) == "December 2026 has not begun yet: the latest report is November 2026's."
    )
