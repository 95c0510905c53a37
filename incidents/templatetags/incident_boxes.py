from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from incidents import boxes
from incidents.models import Team

register = template.Library()


@register.simple_tag(takes_context=True)
def incident_list_boxes(context: dict[str, Any]) -> SafeString:
    """The boxes other apps registered beside the incident list (see incidents.boxes)."""
    html = boxes.render_list_boxes(request=context["request"])
    return mark_safe("\n".join(html))  # noqa: S308 (each piece is a rendered template)


@register.simple_tag(takes_context=True)
def team_boxes(context: dict[str, Any], team: Team) -> SafeString:
    """The boxes other apps registered for a team's page (see incidents.boxes)."""
    html = boxes.render_team_boxes(team=team, request=context["request"])
    return mark_safe("\n".join(html))  # noqa: S308 (each piece is a rendered template)
