"""Overrides: someone on call in place of the rotation for a span ("take this shift", "cover
for me", "add override"), and removing one."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from accounts.requests import AuthedRequest
from oncall import selectors
from oncall.forms import OverrideForm
from oncall.models import ScheduleOverride
from oncall.services import rotations
from oncall.views.common import form_status, schedule_or_404
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors
from ops.timestamps import plan_time_error


def _aware(raw: str | None) -> datetime | None:
    """A link's start or end for the override form; None unless it is an aware time in the
    window (a hand-made year-1 link would overflow where the form shows it)."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None or plan_time_error(moment):
        return None
    return moment


def _week_of(moment: datetime) -> str:
    day = timezone.localtime(moment).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@login_required
def override_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """ "Take this shift" and "cover for me" arrive here with the shift's span in the query."""
    schedule = schedule_or_404(pk)
    # The predicate rotations.override_create checks; this answers 403 before the form is shown.
    if not selectors.can_override(request.user, schedule):
        raise PermissionDenied("You may not change who is on call on this schedule.")
    initial: dict[str, Any] = {
        "start": _aware(request.GET.get("start")),
        "end": _aware(request.GET.get("end")),
    }
    if request.GET.get("user", "").isdigit():
        initial["user"] = int(request.GET["user"])
    elif "start" not in request.GET:
        initial["user"] = request.user.pk
    covering = "start" in request.GET and "user" not in request.GET
    if covering:
        initial["note"] = f"Covering for {request.user.display_name}"
    form = OverrideForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        data = form.cleaned_data
        try:
            override = rotations.override_create(
                actor=request.user,
                schedule=schedule,
                user=data["user"],
                start=data["start"],
                end=data["end"],
                note=data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{override.user.display_name} is on call for that span.")
            url = reverse("oncall:schedule-detail", kwargs={"pk": schedule.pk})
            return redirect(f"{url}?start={_week_of(override.start)}")
    return render(
        request,
        "oncall/schedule_override_form.html",
        {"form": form, "schedule": schedule, "covering": covering},
        status=form_status(form),
    )


@login_required
@require_POST
def override_delete(request: AuthedRequest, pk: int, override_id: int) -> HttpResponse:
    schedule = schedule_or_404(pk)
    try:
        override = ScheduleOverride.objects.select_related("user").get(
            pk=override_id, schedule=schedule
        )
    except ScheduleOverride.DoesNotExist as exc:
        raise Http404("No such override.") from exc
    if not selectors.may_change_override(request.user, override):
        raise PermissionDenied(
            "You may only change your own overrides, unless you manage the schedules."
        )
    if not confirmed(request):
        start, end = (
            dateformat.format(timezone.localtime(moment), "D j M H:i T")
            for moment in (override.start, override.end)
        )
        return confirmation_page(
            request,
            Confirmation(
                question=f"Remove the override of {override.user.display_name}?",
                consequence=(
                    f"From {start} to {end} the rotation decides who is on call again. "
                    "This cannot be undone: add the override again if it is still needed."
                ),
                action="Remove override",
                cancel_url=reverse("oncall:schedule-detail", args=[schedule.pk])
                + f"#override-{override.pk}",
            ),
        )
    rotations.override_delete(actor=request.user, override=override)
    messages.success(request, f"Override of {override.user.display_name} removed.")
    return redirect("oncall:schedule-detail", pk=schedule.pk)
