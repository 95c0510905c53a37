"""A report's month: a calendar month in the organisation's zone (ORGANISATION_TIME_ZONE), not
UTC, so an incident at 23:30 on the 31st in New York counts in the month New York saw it in."""

import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

# ASCII digits only: \d would take other scripts' digits too.
MONTH_FORMAT = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# Months the reports accept: wide enough for any real history, narrow enough to refuse nonsense.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.ORGANISATION_TIME_ZONE)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """`2026-11`; anything else is a ValueError whose message says what is expected."""
        match = MONTH_FORMAT.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-11.")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} is not a month: the month is 01 to 12.")
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"{text!r} is out of range: years {FIRST_YEAR} to {LAST_YEAR}.")
        return cls(year, month)

    @classmethod
    def containing(cls, when: datetime, zone: ZoneInfo | None = None) -> "Month":
        local = when.astimezone(zone or organisation_zone())
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def minus(self, months: int) -> "Month":
        index = self.year * 12 + self.month - 1 - months
        return Month(index // 12, index % 12 + 1)

    def start(self, zone: ZoneInfo | None = None) -> datetime:
        """Midnight on the 1st in `zone` (the organisation's), as an aware datetime."""
        return datetime(self.year, self.month, 1, tzinfo=zone or organisation_zone())

    def end(self, zone: ZoneInfo | None = None) -> datetime:
        """The next month's start: the month is [start, end)."""
        return self.next().start(zone)

    def as_far_as(self, when: datetime, zone: ZoneInfo | None = None) -> datetime:
        """The moment as far into this month, by the calendar and the clock in `zone`, as
        `when` is into its own (20 March 12:00 → 20 February 12:00); the month's end when
        this month has no such day (31 March → end of February)."""
        zone = zone or organisation_zone()
        local = when.astimezone(zone)
        if local.day > calendar.monthrange(self.year, self.month)[1]:
            return self.end(zone)
        return local.replace(year=self.year, month=self.month)


def current_month() -> Month:
    """The organisation's month now: the latest with a report."""
    return Month.containing(timezone.now())


def reportable_month(text: str, *, current: Month | None = None) -> Month:
    """The month `text` names, or a ValueError whose message says why not. A month that has not
    begun is refused, not reported empty: an empty report reads as "nothing happened"."""
    current = current or current_month()
    month = Month.parse(text)
    if month > current:
        raise ValueError(
            f"{month.label} has not begun yet: the latest report is {current.label}'s."
        )
    return month
