"""A schedule's layers: adding a rotation, changing it from a moment on, ending it."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.requests import AuthedRequest
from incidents.permissions import Action, require
from oncall.forms import LayerForm
from oncall.models import Schedule, ScheduleLayer
from oncall.services import rotations
from oncall.views.common import form_status, schedule_or_404
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors


def _layer_or_404(schedule: Schedule, layer_id: int) -> ScheduleLayer:
    try:
        return ScheduleLayer.objects.prefetch_related("participants").get(
            pk=layer_id, schedule=schedule
        )
    except ScheduleLayer.DoesNotExist as exc:
        raise Http404("No such layer.") from exc


def _default_handoff(zone_name: str, *, first: bool) -> datetime:
    """A Monday 09:00 in the schedule's zone, as a wall time: a common weekly handoff.

    The first rotation starts at the one most recently passed, so someone is on call as soon as
    it is saved rather than from next week; a later layer starts at the next one, leaving who
    was on call so far as it was.
    """
    now = timezone.now().astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)
    today = now.date()
    if first:
        handoff = datetime.combine(today - timedelta(days=today.weekday()), time(9))
        return handoff if handoff <= now else handoff - timedelta(weeks=1)
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    return datetime.combine(monday, time(9))


@login_required
def layer_create(request: AuthedRequest, pk: int) -> HttpResponse:
    schedule = schedule_or_404(pk)
    require(request.user, Action.MANAGE_ONCALL)
    form = LayerForm(
        request.POST if request.method == "POST" else None,
        initial={
            "time_zone": schedule.time_zone,
            "rotation_start": _default_handoff(
                schedule.time_zone, first=not schedule.layers.exists()
            ),
        },
    )
    if form.is_valid():
        try:
            rotations.layer_create(actor=request.user, schedule=schedule, spec=form.spec())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Layer {form.cleaned_data['name']} added.")
            return redirect("oncall:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_layer_form.html",
        {"form": form, "schedule": schedule, "people": form.people},
        status=form_status(form),
    )


@login_required
def layer_change(request: AuthedRequest, pk: int, layer_id: int) -> HttpResponse:
    schedule = schedule_or_404(pk)
    layer = _layer_or_404(schedule, layer_id)
    require(request.user, Action.MANAGE_ONCALL)
    form = LayerForm.for_layer(layer, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            rotations.layer_change(
                actor=request.user,
                layer=layer,
                spec=form.spec(),
                effective_at=form.cleaned_data.get("effective_at"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Layer {form.cleaned_data['name']} changed.")
            return redirect("oncall:schedule-detail", pk=schedule.pk)
    return render(
        request,
        "oncall/schedule_layer_form.html",
        {"form": form, "schedule": schedule, "layer": layer, "people": form.people},
        status=form_status(form),
    )


@login_required
@require_POST
def layer_end(request: AuthedRequest, pk: int, layer_id: int) -> HttpResponse:
    require(request.user, Action.MANAGE_ONCALL)
    schedule = schedule_or_404(pk)
    layer = _layer_or_404(schedule, layer_id)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"End the layer {layer.name} of {schedule.name}?",
                consequence=(
                    "It puts nobody on call from now on; the other layers and overrides "
                    "decide who is. An ended layer cannot be started again: to bring its "
                    "rotation back, add it as a new layer."
                ),
                action="End layer",
                cancel_url=reverse("oncall:schedule-detail", args=[schedule.pk])
                + f"#layer-{layer.pk}",
            ),
        )
    rotations.layer_end(actor=request.user, layer=layer)
    messages.success(request, f"Layer {layer.name} ended: it puts nobody on call from now on.")
    return redirect("oncall:schedule-detail", pk=schedule.pk)
