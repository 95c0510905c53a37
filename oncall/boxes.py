"""On call's boxes on incidents' pages, registered with incidents.boxes in OncallConfig.ready():
"On call now" beside the incident list and on a team's page.

Each box is a shell that loads its body with htmx (oncall.views.oncall_now), so it costs the
incidents' pages no query and the schedules are read by a request of their own.
"""

from typing import Any

from django.http import HttpRequest

from incidents.models import Team

LIST_TEMPLATE = "oncall/_oncall_now_box.html"
TEAM_TEMPLATE = "oncall/_team_oncall_box.html"


def oncall_now_context(request: HttpRequest) -> dict[str, Any] | None:
    return {}


def team_oncall_context(team: Team, request: HttpRequest) -> dict[str, Any] | None:
    return {}
