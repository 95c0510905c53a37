"""Display helpers for the monthly report page: durations, labels, badges, targets."""

from datetime import timedelta

from django import template

from incidents.models import Status
from postmortems.models import ActionItemStatus
from reports import recommendations
from reports.durations import NOTHING, duration_text, target_text
from reports.report import GroupFigures

register = template.Library()

# Severity badges come in four colours (static/css/tocsin.css, .sev-1 … .sev-4).
SEVERITY_CLASSES = 4


@register.filter
def human_duration(value: object) -> str:
    """Seconds (or a timedelta) as "42 s", "1 h 05 min" (reports.durations, the rule of the
    email and the exports too); "—" when nothing was measured, including a figure the report
    does not have (the template hands on "")."""
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        return NOTHING
    # No-break spaces: a narrow column wraps between figures, never inside "1 h 05 min".
    return duration_text(value).replace(" ", "\N{NO-BREAK SPACE}")


@register.filter
def target_duration(value: timedelta | None) -> str:
    """A target in its round unit: "15 min", "1 h", "7 d" (not "1 h 00 min")."""
    return target_text(value).replace(" ", "\N{NO-BREAK SPACE}")


@register.filter
def above_target(seconds: float | None, target: timedelta | None) -> bool:
    """The recommendations' own rule, so the page flags what they name (the template hands
    on the median)."""
    return recommendations.above_target(seconds, target)


@register.filter
def target_for(targets: dict[str, timedelta], name: str) -> timedelta | None:
    return targets.get(name)


@register.filter
def severity_class(name: str, severities: list[GroupFigures]) -> str:
    """The badge class of a severity named in an incident row, from the report's own
    severity rows (their rank), so the list needs no query of its own."""
    for group in severities:
        if group.name == name and group.rank is not None:
            return f"sev-{min(max(group.rank, 1), SEVERITY_CLASSES)}"
    return "sev-unknown"


@register.filter
def status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


@register.filter
def action_item_status_label(value: str) -> str:
    if value in ActionItemStatus.values:
        return str(ActionItemStatus(value).label)
    return value.replace("_", " ").capitalize()


@register.filter
def incidents_count(count: int) -> str:
    return f"{count} incident" if count == 1 else f"{count} incidents"
