"""The incident page's "Status page" panel (registered in StatuspageConfig.ready): what the
public sees of the incident, and the communications lead's controls to publish an update with
a public name and a state per component."""

from typing import Any

from django.http import HttpRequest

from accounts.models import User
from incidents.models import Incident
from incidents.permissions import Action, can
from statuspage.models import Component, ComponentOverride, PublicIncident
from statuspage.staff_forms import PublicUpdateForm

TEMPLATE = "statuspage/_incident_panel.html"


def panel_components(incident: Incident) -> list[Component]:
    """The incident's public services' components, read only (components_sync makes missing
    ones when publishing)."""
    return list(
        Component.objects.filter(service__in=[s.pk for s in incident.services.all() if s.public])
        .select_related("service")
        .order_by("position", "pk")
    )


def panel_context(
    incident: Incident, user: User, *, form: PublicUpdateForm | None = None
) -> dict[str, Any]:
    public = PublicIncident.objects.filter(incident=incident).first()
    components = panel_components(incident)
    overrides = (
        dict(
            ComponentOverride.objects.filter(public_incident=public).values_list(
                "component_id", "state"
            )
        )
        if public is not None
        else {}
    )
    if form is None:
        form = PublicUpdateForm(
            components=components,
            auto_id="statuspage-%s",
            initial={
                "name": public.name if public is not None else "",
                **{PublicUpdateForm.override_name(c): overrides.get(c.pk, "") for c in components},
            },
        )
    return {
        "public_incident": public,
        "statuspage_form": form,
        "component_rows": [
            (component, field, overrides.get(component.pk))
            for component, field in form.override_fields()
        ],
    }


def incident_statuspage_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    user = request.user
    if not isinstance(user, User) or not can(user, Action.RESPOND, incident):
        return None
    return panel_context(incident, user)
