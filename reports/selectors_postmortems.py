"""Reads for the report's postmortem part: contributing factors and action items of the month's
incidents (those the figures count: reports.selectors.started_in and counted), a query each
(two for action items: the month's, and every overdue one)."""

from datetime import date

from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import TruncDate

from postmortems.models import ActionItem, ContributingFactor, Postmortem
from postmortems.models import ActionItemStatus as ItemStatus
from postmortems.selectors_action_items import overdue_q
from reports.months import Month, organisation_zone
from reports.report import ActionItemStatus
from reports.report import Count as Counted
from reports.selectors import PRIVATE_CAUSES, counted, started_in


def contributing_factors(month: Month) -> list[Counted]:
    """Factors named in the month's incidents' postmortems, most frequent first; then private
    incidents, whatever their factors, as PRIVATE_CAUSES (cause_categories' rule): each count is
    of incidents."""
    of_month = started_in(month, through="postmortems__incident__") & counted(
        through="postmortems__incident__"
    )
    rows = (
        ContributingFactor.objects.filter(of_month)
        .order_by()
        .values(
            # Factors are free text: the name of a private incident's never leaves the database.
            factor=Case(
                When(postmortems__incident__private=True, then=Value(PRIVATE_CAUSES)),
                default=F("name"),
                output_field=CharField(),
            ),
            is_private=F("postmortems__incident__private"),
        )
        # Distinct: a private incident with several factors is one incident among them.
        .annotate(n=Count("postmortems", distinct=True))
    )
    named = sorted(
        (Counted(row["factor"], row["n"]) for row in rows if not row["is_private"]),
        key=lambda count: (-count.count, count.name),
    )
    private = sum(row["n"] for row in rows if row["is_private"])
    return named + ([Counted(PRIVATE_CAUSES, private)] if private else [])


def action_item_status(month: Month, *, today: date) -> ActionItemStatus | None:
    """The month's incidents' action items by status, how many of them were done by their due
    date, and every overdue item whatever month its incident started in (ActionItemStatus).

    An item hangs on its incident (usually written in its postmortem): those of the month's
    incidents are counted, with or without a postmortem. None when there is nothing to say:
    no postmortem of the month's incidents, no item, none overdue.
    Done on time: done, and closed on or before its due date in the organisation's zone.
    """
    of_month = started_in(month, through="incident__") & counted(through="incident__")
    # Two queries rather than one filtered by "of the month OR overdue": that OR across the
    # join to incidents matched no index and read every item and every incident. The month's
    # items come by the started_at index, the overdue ones by action_item_open_due.
    row = (
        ActionItem.objects.filter(of_month)
        .alias(closed_on=TruncDate("closed_at", tzinfo=organisation_zone()))
        .aggregate(
            total=Count("pk"),
            done_on_time=Count(
                "pk", filter=Q(status=ItemStatus.DONE, closed_on__lte=F("due_date"))
            ),
            **{
                f"status_{status}": Count("pk", filter=Q(status=status))
                for status in ItemStatus.values
            },
        )
    )
    overdue = ActionItem.objects.filter(overdue_q(today)).count()
    # Whether one exists, not how many: the first one found ends the look-up, where a count
    # joined every postmortem to the month's incidents.
    any_postmortem = Postmortem.objects.filter(
        started_in(month, through="incident__") & counted(through="incident__")
    ).exists()
    if not (any_postmortem or row["total"] or overdue):
        return None
    return ActionItemStatus(
        total=row["total"],
        by_status={status: row[f"status_{status}"] for status in ItemStatus.values},
        overdue=overdue,
        done_on_time=row["done_on_time"],
    )
