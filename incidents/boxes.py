"""Boxes other apps add to the incident list and to a team's page, without incidents importing
them (oncall's "On call now").

An app registers a box in its AppConfig.ready(), as it would a panel of the incident page
(incidents/panels.py): a template and a function that returns the template's context, or None to
show nothing. A box on the incident list is given the request; one on a team's page the team too.
Each function runs once per page, so a box's query count is its function's: a box with much to
read should load its body with htmx, as oncall's do, so the page's own queries stay its own.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from incidents.models import Team

ListBoxContext = Callable[[HttpRequest], dict[str, Any] | None]
TeamBoxContext = Callable[[Team, HttpRequest], dict[str, Any] | None]

_list_boxes: dict[str, ListBoxContext] = {}
_team_boxes: dict[str, TeamBoxContext] = {}


def register_list_box(template_name: str, context_fn: ListBoxContext) -> None:
    """Add a box beside the incident list; the same template again replaces it (ready() may
    rerun)."""
    _list_boxes[template_name] = context_fn


def register_team_box(template_name: str, context_fn: TeamBoxContext) -> None:
    """Add a box to the side of a team's page; the same template again replaces it."""
    _team_boxes[template_name] = context_fn


def _render(template_name: str, context: Mapping[str, Any], request: HttpRequest) -> SafeString:
    html = render_to_string(template_name, context, request=request)
    # render_to_string escaped the context; the template's own markup is trusted.
    return mark_safe(html.strip())  # noqa: S308


def render_list_boxes(*, request: HttpRequest) -> list[SafeString]:
    """Each registered list box's HTML, in registration order, skipping those with nothing."""
    rendered = []
    for template_name, context_fn in _list_boxes.items():
        context = context_fn(request)
        if context is not None:
            rendered.append(_render(template_name, context, request))
    return rendered


def render_team_boxes(*, team: Team, request: HttpRequest) -> list[SafeString]:
    """Each registered team box's HTML, in registration order, skipping those with nothing."""
    rendered = []
    for template_name, context_fn in _team_boxes.items():
        context = context_fn(team, request)
        if context is not None:
            rendered.append(_render(template_name, {"team": team, **context}, request))
    return rendered
