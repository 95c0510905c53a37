from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from incidents import panels

register = template.Library()


@register.simple_tag(takes_context=True)
def incident_panels(
    context: dict[str, Any], incident: Any, placement: str = panels.Placement.BOTTOM
) -> SafeString:
    """The panels other apps registered for the incident page at `placement` ("top" or
    "bottom"; see incidents.panels)."""
    html = panels.render_panels(
        incident=incident, request=context["request"], placement=panels.Placement(placement)
    )
    return mark_safe("".join(html))  # noqa: S308 (each piece is a rendered template)
