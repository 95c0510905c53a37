"""action_items pages."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern

from postmortems.models import Postmortem

urlpatterns: list[URLPattern] = []


def panel_context(*, postmortem: Postmortem, request: HttpRequest) -> dict[str, Any]:
    """What templates/postmortems/_action_items.html needs on the postmortem page."""
    return {}
