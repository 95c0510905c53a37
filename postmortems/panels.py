"""The incident page's "Postmortem and action items" panel, registered with incidents.panels
in PostmortemsConfig.ready(): the postmortem's status and a link to it (or a button to start
one), and the incident's action items with the form to add one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from incidents.models import Incident, Status
from incidents.permissions import Action, can
from postmortems import selectors_meetings
from postmortems.views.action_items import items_context

TEMPLATE = "postmortems/panel_incident.html"


def incident_postmortem_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    user = request.user
    if not isinstance(user, User):
        return None
    postmortem = selectors_meetings.incident_postmortem(incident)
    number = {"number": incident.number}
    return {
        "postmortem": postmortem,
        "postmortem_url": reverse("postmortems:detail", kwargs=number) if postmortem else "",
        "can_start": (
            postmortem is None
            and incident.status == Status.RESOLVED
            and can(user, Action.RESPOND, incident)
        ),
        "start_url": reverse("postmortems:start", kwargs=number),
        "action_items": items_context(
            incident=incident, user=user, back=incident.get_absolute_url()
        ),
    }
