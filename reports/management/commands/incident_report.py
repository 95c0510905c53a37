import json
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.builder import monthly_report
from reports.export import csv_lines, report_json, report_markdown
from reports.months import Month, reportable_month

FORMATS = ("md", "csv", "json")


class Command(BaseCommand):
    help = (
        "Print the monthly incident report: Markdown (the whole report), CSV (the month's "
        "incidents) or JSON (the whole report, as the API answers it)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--month",
            help="YYYY-MM, in the organisation's time zone; by default the month before this one",
        )
        parser.add_argument("--format", choices=FORMATS, default="md")
        parser.add_argument("--output", type=Path, help="write to this file, not stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        month = self._month(options["month"])
        output: Path | None = options["output"]
        # A file is what a spreadsheet opens; standard output is read by programs.
        chunks = self._chunks(month, options["format"], to_file=output is not None)
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        try:
            # newline="": the CSV's own line endings (\r\n, RFC 4180) are written untouched.
            with output.open("w", encoding="utf-8", newline="") as out:
                out.writelines(chunks)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc

    def _month(self, text: str | None) -> Month:
        if text is None:
            return Month.containing(timezone.now()).previous()
        try:
            return reportable_month(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _chunks(self, month: Month, kind: str, *, to_file: bool) -> Iterator[str]:
        """The output a piece at a time: the CSV streams, the reports come whole."""
        if kind == "csv":
            yield from csv_lines(month, byte_order_mark=to_file)
        elif kind == "json":
            yield json.dumps(report_json(monthly_report(month)), indent=2, ensure_ascii=False)
            yield "\n"
        else:
            yield report_markdown(monthly_report(month))
