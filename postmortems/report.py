"""The action-item report (the playbook's track_action_items / generate_action_item_report):
for each postmortem created in the last REPORT_DAYS days, and overall, how many of its
incident's action items there are, done, in progress, not started, declined and overdue, and
the completion rate.

Counted by the database in one query (an aggregate per postmortem); the overall figures are
the sum of those rows, so the two always agree.

Definitions, as the page states them:
- window: postmortems created from `now` - REPORT_DAYS days up to `now`;
- overdue: open or in progress, and its due date has ended in the organisation's zone (an item
  due today is not overdue yet; one due yesterday is, from midnight);
- completion rate: done / (total - won't do); none when that is zero (no items, or only
  declined ones). Declined items are decisions, not unfinished work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import User
from incidents.selectors import incidents_visible_to
from postmortems.models import ActionItemStatus, Postmortem
from postmortems.selectors_action_items import overdue_q
from postmortems.services.reminders import organisation_today

REPORT_DAYS = 90

WINDOW = f"Postmortems created in the last {REPORT_DAYS} days, with their incidents' action items."


def definitions() -> dict[str, str]:
    """What the figures mean, in words: on the page and in the JSON."""
    return {
        "window": WINDOW,
        "not_started": "Open: nobody has started it.",
        "overdue": (
            "Open or in progress, and its due date has ended in the organisation's time zone "
            f"({settings.ORGANISATION_TIME_ZONE}); an item due today is not overdue yet."
        ),
        "completion_rate": (
            "Done / (total - won't do); none when nothing is left to count (no items, or only "
            "won't do)."
        ),
    }


@dataclass(frozen=True)
class Counts:
    total: int = 0
    done: int = 0
    in_progress: int = 0
    not_started: int = 0
    wont_do: int = 0
    overdue: int = 0

    @property
    def completion_rate(self) -> float | None:
        counted = self.total - self.wont_do
        return self.done / counted if counted else None

    @property
    def rate_label(self) -> str:
        """ "67%", or "—" when there is no rate."""
        rate = self.completion_rate
        return "—" if rate is None else f"{rate:.0%}"

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)}
        )

    def as_json(self) -> dict[str, Any]:
        rate = self.completion_rate
        return {**asdict(self), "completion_rate": None if rate is None else round(rate, 4)}


@dataclass(frozen=True)
class PostmortemRow:
    postmortem_id: int
    incident_number: int
    title: str
    status: str
    status_label: str
    created_at: datetime
    counts: Counts

    @property
    def ref(self) -> str:
        return f"INC-{self.incident_number}"

    @property
    def url(self) -> str:
        return postmortem_path(self.incident_number)


def postmortem_path(number: int) -> str:
    """The postmortem page's path (its view is another part of the app)."""
    try:
        return reverse("postmortems:detail", kwargs={"number": number})
    except NoReverseMatch:
        return f"/incidents/{number}/postmortem/"


@dataclass(frozen=True)
class ActionItemReport:
    since: datetime
    until: datetime
    today: date
    rows: list[PostmortemRow]
    overall: Counts

    def as_json(self) -> dict[str, Any]:
        return {
            "window": {
                "days": REPORT_DAYS,
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "basis": "postmortems created in the window",
                "time_zone": settings.ORGANISATION_TIME_ZONE,
                "today": self.today.isoformat(),
            },
            "definitions": definitions(),
            "overall": {"postmortems": len(self.rows), **self.overall.as_json()},
            "postmortems": [
                {
                    "incident": row.ref,
                    "number": row.incident_number,
                    "title": row.title,
                    "status": row.status,
                    "created_at": row.created_at.isoformat(),
                    "url": settings.BASE_URL + row.url,
                    **row.counts.as_json(),
                }
                for row in self.rows
            ],
        }


def _count(status: str | None = None, extra: Q | None = None) -> Count:
    condition = Q(incident__action_items__isnull=False)
    if status is not None:
        condition &= Q(incident__action_items__status=status)
    if extra is not None:
        condition &= extra
    return Count("incident__action_items", filter=condition)


def action_item_report(*, user: User, now: datetime | None = None) -> ActionItemReport:
    """The report over the postmortems `user` may see, newest first."""
    # In UTC, so the window is 90 whole days of 24 hours whatever zone `now` came in (an
    # aware datetime's arithmetic follows its own zone's wall clock).
    now = (now or timezone.now()).astimezone(UTC)
    since = now - timedelta(days=REPORT_DAYS)
    today = organisation_today(now)
    rows = (
        Postmortem.objects.filter(
            created_at__gte=since,
            created_at__lte=now,
            incident__in=incidents_visible_to(user),
        )
        .annotate(
            n_total=_count(),
            n_done=_count(ActionItemStatus.DONE),
            n_in_progress=_count(ActionItemStatus.IN_PROGRESS),
            n_not_started=_count(ActionItemStatus.OPEN),
            n_wont_do=_count(ActionItemStatus.WONT_DO),
            n_overdue=_count(extra=overdue_q(today, through="incident__action_items__")),
        )
        .order_by("-created_at", "-pk")
        .values_list(
            "pk",
            "incident__number",
            "title",
            "status",
            "created_at",
            "n_total",
            "n_done",
            "n_in_progress",
            "n_not_started",
            "n_wont_do",
            "n_overdue",
        )
    )
    labels = dict(Postmortem._meta.get_field("status").flatchoices)
    report_rows = [
        PostmortemRow(
            postmortem_id=pk,
            incident_number=number,
            title=title,
            status=status,
            status_label=str(labels.get(status, status)),
            created_at=created_at,
            counts=Counts(*numbers),
        )
        for pk, number, title, status, created_at, *numbers in rows
    ]
    overall = sum((row.counts for row in report_rows), Counts())
    return ActionItemReport(since=since, until=now, today=today, rows=report_rows, overall=overall)
