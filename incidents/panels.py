"""Sections other apps add to the incident page, without incidents importing them.

An app registers a panel in its AppConfig.ready(): a template and a function that, given the
incident and the request, returns the template's context, or None to show nothing. The page
calls each function once, so a panel's query count is its function's, whatever it lists.
The incident passed in was fetched for the request's user, who may see it.

A panel's placement says where it goes: TOP panels sit under the incident's header and
actions, above the timeline (what a responder must see first, as who is being paged); they
are part of the incident panel that the page's actions re-render. BOTTOM panels follow the
whole incident panel.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Incident

PanelContext = Callable[[Incident, HttpRequest], dict[str, Any] | None]


class Placement(StrEnum):
    TOP = "top"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class Panel:
    template_name: str
    context: PanelContext
    placement: Placement = Placement.BOTTOM


_panels: dict[str, Panel] = {}


def register_panel(
    template_name: str, context_fn: PanelContext, *, placement: Placement = Placement.BOTTOM
) -> None:
    """Add a panel; registering the same template again replaces it (ready() may rerun)."""
    _panels[template_name] = Panel(template_name, context_fn, placement)


def render_panels(
    *, incident: Incident, request: HttpRequest, placement: Placement = Placement.BOTTOM
) -> list[SafeString]:
    """Each registered panel's HTML at `placement`, in registration order, skipping those with
    nothing."""
    rendered = []
    for panel in _panels.values():
        if panel.placement != placement:
            continue
        context = panel.context(incident, request)
        if context is None:
            continue
        html = render_to_string(
            panel.template_name, {"incident": incident, **context}, request=request
        )
        # render_to_string escaped the context; the template's own markup is trusted.
        rendered.append(mark_safe(html))  # noqa: S308
    return rendered
