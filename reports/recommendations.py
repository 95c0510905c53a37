"""Rule-based recommendations (the playbook's generate_monthly_report ends with them), each
naming the figure that raised it. Worked out from the report's figures, with no query.

The rules, as the report states them:
- time to resolve: a severity whose MEDIAN time to resolve is above its target
  (REPORTS_MTTR_TARGETS; the median, as one long incident would drag a mean over it);
- time to acknowledge: a severity whose median time to acknowledge is above its response
  target (Severity.response_target);
- recurring incidents: a service with RECURRING_INCIDENTS or more incidents in the month;
- overdue action items: any, whatever month they come from;
- off-hours load: one person carrying more than OFF_HOURS_SHARE of the month's off-hours
  interruptions, when there were at least OFF_HOURS_MINIMUM of them (one or two nights are no
  pattern).
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from reports.durations import duration_text, target_text
from reports.report import (
    EMPTY,
    ActionItemStatus,
    Distribution,
    GroupFigures,
    Recommendation,
    ResponderLoad,
)

RECURRING_INCIDENTS = 3
OFF_HOURS_SHARE = 0.5
OFF_HOURS_MINIMUM = 3


def mttr_targets() -> dict[str, timedelta]:
    """Severity name -> the time to resolve its median should stay under."""
    return {
        name: timedelta(minutes=minutes) for name, minutes in settings.REPORTS_MTTR_TARGETS.items()
    }


def above_target(seconds: float | None, target: timedelta | None) -> bool:
    """THE over-target rule, for the page, the email and the recommendations alike: a figure
    strictly above its target; never when either is unknown."""
    return seconds is not None and target is not None and seconds > target.total_seconds()


def median_above_target(figures: Distribution, target: timedelta | None) -> bool:
    """A severity is over target when its MEDIAN is (one long incident would drag a mean)."""
    return above_target(figures.median, target)


def acknowledgement_over_target(severity: GroupFigures) -> bool:
    """The median time to acknowledge above the severity's response target."""
    figures = severity.figures.get("time_to_acknowledge", EMPTY)
    return median_above_target(figures, severity.response_target)


def resolution_over_target(severity: GroupFigures, targets: dict[str, timedelta]) -> bool:
    """The median time to resolve above the severity's REPORTS_MTTR_TARGETS entry."""
    figures = severity.figures.get("time_to_resolve", EMPTY)
    return median_above_target(figures, targets.get(severity.name))


def _incidents(count: int) -> str:
    return f"{count} incident" if count == 1 else f"{count} incidents"


def _incident_list(**filters: str) -> str:
    return f"{reverse('incidents:list')}?{urlencode(filters)}"


def _slow_resolution(severities: list[GroupFigures]) -> list[Recommendation]:
    targets = mttr_targets()
    found = []
    for severity in severities:
        target = targets.get(severity.name)
        median = severity.figures.get("time_to_resolve", EMPTY).median
        if not resolution_over_target(severity, targets) or median is None or target is None:
            continue
        found.append(
            Recommendation(
                "mttr_over_target",
                f"{severity.name}: the median time to resolve, {duration_text(median)} over "
                f"{_incidents(severity.figures['time_to_resolve'].n)}, is above the "
                f"{target_text(target)} target. Look at what held the slowest ones up.",
                _incident_list(severity=severity.name),
            )
        )
    return found


def _slow_acknowledgement(severities: list[GroupFigures]) -> list[Recommendation]:
    found = []
    for severity in severities:
        target = severity.response_target
        median = severity.figures.get("time_to_acknowledge", EMPTY).median
        if not acknowledgement_over_target(severity) or median is None or target is None:
            continue
        measured = severity.figures["time_to_acknowledge"].n
        found.append(
            Recommendation(
                "mtta_over_target",
                f"{severity.name}: the median time to acknowledge, {duration_text(median)} over "
                f"{_incidents(measured)}, is above the {target_text(target)} response target "
                f"({severity.within_target} of {measured} acknowledged within it). "
                "Check who is paged for it, and how.",
                _incident_list(severity=severity.name),
            )
        )
    return found


def _recurring(services: list[GroupFigures]) -> list[Recommendation]:
    return [
        Recommendation(
            "recurring_service",
            f"{service.name} had {_incidents(service.incidents)} this month "
            f"({RECURRING_INCIDENTS} or more): look for a common cause.",
            _incident_list(service=service.slug),
        )
        for service in services
        # The incidents with no service are not one service's recurrence.
        if service.slug and service.incidents >= RECURRING_INCIDENTS
    ]


def _overdue_items() -> str:
    return f"{reverse('postmortems:my_action_items')}?{urlencode({'tab': 'all', 'overdue': 'on'})}"


def _overdue(action_items: ActionItemStatus | None) -> list[Recommendation]:
    if action_items is None or not action_items.overdue:
        return []
    count = action_items.overdue
    items = "action item is" if count == 1 else "action items are"
    return [
        Recommendation(
            "overdue_action_items",
            f"{count} {items} overdue (open or in progress past the due date, from any "
            "month): follow them up with their owners.",
            _overdue_items(),
        )
    ]


def _off_hours(load: list[ResponderLoad]) -> list[Recommendation]:
    total = sum(person.off_hours_interruptions for person in load)
    if total < OFF_HOURS_MINIMUM:
        return []
    return [
        Recommendation(
            "off_hours_load",
            f"{person.name} had {person.off_hours_interruptions} of the month's {total} "
            f"off-hours interruptions ({person.off_hours_interruptions / total:.0%}): share "
            "the nights and weekends more evenly.",
        )
        for person in load
        if person.off_hours_interruptions > total * OFF_HOURS_SHARE
    ]


def recommendations(
    *,
    by_severity: list[GroupFigures],
    by_service: list[GroupFigures],
    action_items: ActionItemStatus | None,
    load: list[ResponderLoad],
) -> list[Recommendation]:
    """Every rule that applies, in the order of the module's list."""
    return [
        *_slow_resolution(by_severity),
        *_slow_acknowledgement(by_severity),
        *_recurring(by_service),
        *_overdue(action_items),
        *_off_hours(load),
    ]
