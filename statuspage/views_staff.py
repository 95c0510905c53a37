"""Staff pages of the status page: the incident page's publishing panel (its POST), and
/status/manage/ where managers schedule maintenance and arrange components and groups.
Each view parses the form, calls a service and renders; the services check permissions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.requests import AuthedRequest, wants_fragment
from incidents import selectors as incident_selectors
from incidents.models import Incident
from incidents.permissions import Action, require
from ops.forms import add_service_errors
from statuspage.models import Component, ComponentGroup, Maintenance, MaintenanceStatus
from statuspage.panels import TEMPLATE as PANEL_TEMPLATE
from statuspage.panels import panel_components, panel_context
from statuspage.services import components as component_services
from statuspage.services import maintenance as maintenance_services
from statuspage.services.publishing import public_update_post
from statuspage.staff_forms import (
    ComponentForm,
    GroupForm,
    MaintenanceEditForm,
    MaintenanceForm,
    MaintenanceUpdateForm,
    PublicUpdateForm,
)

RECENT_MAINTENANCES = 10


@login_required
@require_POST
def incident_public_update(request: AuthedRequest, number: int) -> HttpResponse:
    """The panel's "Post public update": 400 with the form's errors and nothing written, or
    the panel again (htmx) / the incident page (a plain post)."""
    try:
        incident = incident_selectors.incident_get_for_user(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc
    require(request.user, Action.RESPOND, incident)
    form = PublicUpdateForm(
        request.POST, components=panel_components(incident), auto_id="statuspage-%s"
    )
    if form.is_valid():
        try:
            public_update_post(
                incident=incident,
                actor=request.user,
                message=form.cleaned_data["message"],
                name=form.cleaned_data["name"],
                overrides=form.overrides(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if wants_fragment(request):
                context = {"incident": incident, **panel_context(incident, request.user)}
                return render(request, PANEL_TEMPLATE, context)
            messages.success(request, "Public update posted to the status page.")
            return redirect(incident)
    context = {"incident": incident, **panel_context(incident, request.user, form=form)}
    template = PANEL_TEMPLATE if wants_fragment(request) else "statuspage/staff/public_update.html"
    return render(request, template, context, status=400)


def _manage_page(
    request: AuthedRequest,
    *,
    maintenance_form: MaintenanceForm | None = None,
    group_form: GroupForm | None = None,
    status: int = 200,
) -> HttpResponse:
    maintenances = Maintenance.objects.prefetch_related("components__service")
    open_statuses = (
        MaintenanceStatus.SCHEDULED,
        MaintenanceStatus.IN_PROGRESS,
        MaintenanceStatus.VERIFYING,
    )
    context = {
        "current": maintenances.filter(status__in=open_statuses).order_by("scheduled_for"),
        "past": maintenances.exclude(status__in=open_statuses).order_by("-scheduled_for")[
            :RECENT_MAINTENANCES
        ],
        "components": Component.objects.filter(service__public=True)
        .select_related("service", "group")
        .order_by("group__position", "group__name", "position", "pk"),
        "groups": ComponentGroup.objects.all(),
        "maintenance_form": maintenance_form or MaintenanceForm(auto_id="maintenance-%s"),
        "group_form": group_form or GroupForm(auto_id="group-%s"),
    }
    return render(request, "statuspage/staff/manage.html", context, status=status)


@login_required
def manage(request: AuthedRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    component_services.components_sync()
    return _manage_page(request)


@login_required
@require_POST
def maintenance_create(request: AuthedRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    form = MaintenanceForm(request.POST, auto_id="maintenance-%s")
    if form.is_valid():
        try:
            maintenance = maintenance_services.maintenance_schedule(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Maintenance “{maintenance.name}” scheduled.")
            return redirect("statuspage:manage")
    return _manage_page(request, maintenance_form=form, status=400)


def _maintenance_page(
    request: AuthedRequest,
    maintenance: Maintenance,
    *,
    form: MaintenanceEditForm | None = None,
    update_form: MaintenanceUpdateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "maintenance": maintenance,
        "updates": maintenance.updates.order_by("-created_at", "-id"),
        "form": form or _edit_form(maintenance, None),
        "update_form": update_form or MaintenanceUpdateForm(auto_id="update-%s"),
    }
    return render(request, "statuspage/staff/maintenance_form.html", context, status=status)


def _hidden_components(maintenance: Maintenance) -> list[Component]:
    """Its components whose service was made private since: the form cannot show them, and
    a save keeps them."""
    return list(maintenance.components.filter(service__public=False))


def _edit_form(maintenance: Maintenance, data: QueryDict | None) -> MaintenanceEditForm:
    hidden = _hidden_components(maintenance)
    form = MaintenanceEditForm(
        data,
        started=maintenance.started_at is not None,
        hidden_components=[component.pk for component in hidden],
        auto_id="maintenance-%s",
        initial={
            "name": maintenance.name,
            "message": maintenance.message,
            "scheduled_for": maintenance.scheduled_for,
            "scheduled_until": maintenance.scheduled_until,
            # The choices are the public components: a hidden one in the initial value would
            # fail the (disabled, once started) field's validation on every save.
            "components": [
                component.pk
                for component in maintenance.components.select_related("service")
                if component.service.public
            ],
        },
    )
    if hidden:
        # Its hidden components still make it concern something.
        form.fields["components"].required = False
    return form


@login_required
def maintenance_edit(request: AuthedRequest, code: str) -> HttpResponse:
    """Reschedule or edit a maintenance (only its end, later, once started): 400 with the
    form's errors and nothing written, or back to the manage page."""
    require(request.user, Action.MANAGE_CATALOG)
    maintenance = get_object_or_404(Maintenance, code=code)
    if request.method != "POST":
        return _maintenance_page(request, maintenance)
    form = _edit_form(maintenance, request.POST)
    if form.is_valid():
        changes = {
            **form.cleaned_data,
            "components": [*form.cleaned_data["components"], *_hidden_components(maintenance)],
        }
        try:
            maintenance_services.maintenance_edit(
                actor=request.user, maintenance=maintenance, **changes
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Maintenance “{maintenance.name}” saved.")
            return redirect("statuspage:manage")
    return _maintenance_page(request, maintenance, form=form, status=400)


@login_required
@require_POST
def maintenance_update_post(request: AuthedRequest, code: str) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    maintenance = get_object_or_404(Maintenance, code=code)
    form = MaintenanceUpdateForm(request.POST, auto_id="update-%s")
    if form.is_valid():
        try:
            maintenance_services.maintenance_update_post(
                actor=request.user, maintenance=maintenance, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Update posted to “{maintenance.name}”.")
            return redirect("statuspage:maintenance-edit", code=maintenance.code)
    return _maintenance_page(request, maintenance, update_form=form, status=400)


def _maintenance_action(request: AuthedRequest, code: str, *, cancel: bool) -> HttpResponse:
    maintenance = get_object_or_404(Maintenance, code=code)
    action = (
        maintenance_services.maintenance_cancel
        if cancel
        else maintenance_services.maintenance_complete_now
    )
    try:
        action(actor=request.user, maintenance=maintenance)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("statuspage:manage")
    messages.success(
        request, f"Maintenance “{maintenance.name}” {'cancelled' if cancel else 'completed'}."
    )
    return redirect("statuspage:manage")


@login_required
@require_POST
def maintenance_cancel(request: AuthedRequest, code: str) -> HttpResponse:
    return _maintenance_action(request, code, cancel=True)


@login_required
@require_POST
def maintenance_complete(request: AuthedRequest, code: str) -> HttpResponse:
    return _maintenance_action(request, code, cancel=False)


@login_required
def component_edit(request: AuthedRequest, code: str) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    component = get_object_or_404(Component.objects.select_related("service"), code=code)
    form = ComponentForm(
        request.POST if request.method == "POST" else None,
        initial={
            "public_name": component.public_name,
            "description": component.description,
            "group": component.group_id,
            "position": component.position,
            "hosted_component_id": component.hosted_component_id,
        },
    )
    if form.is_valid():
        component_services.component_update(
            actor=request.user, component=component, **form.cleaned_data
        )
        messages.success(request, f"Component {component} saved.")
        return redirect("statuspage:manage")
    status = 400 if form.is_bound else 200
    return render(
        request,
        "statuspage/staff/component_form.html",
        {"component": component, "form": form},
        status=status,
    )


@login_required
@require_POST
def group_create(request: AuthedRequest) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    form = GroupForm(request.POST, auto_id="group-%s")
    if form.is_valid():
        try:
            group = component_services.group_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Group {group.name} created.")
            return redirect("statuspage:manage")
    return _manage_page(request, group_form=form, status=400)


@login_required
def group_edit(request: AuthedRequest, code: str) -> HttpResponse:
    require(request.user, Action.MANAGE_CATALOG)
    group = get_object_or_404(ComponentGroup, code=code)
    form = GroupForm(
        request.POST if request.method == "POST" else None,
        initial={"name": group.name, "description": group.description, "position": group.position},
    )
    if form.is_valid():
        try:
            component_services.group_update(actor=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Group {group.name} saved.")
            return redirect("statuspage:manage")
    status = 400 if form.is_bound else 200
    return render(
        request, "statuspage/staff/group_form.html", {"group": group, "form": form}, status=status
    )


@login_required
@require_POST
def group_delete(request: AuthedRequest, code: str) -> HttpResponse:
    group = get_object_or_404(ComponentGroup, code=code)
    component_services.group_delete(actor=request.user, group=group)
    messages.success(request, f"Group {group.name} deleted; its components are ungrouped.")
    return redirect("statuspage:manage")
