"""What the schedule, layer, override and policy pages share."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.requests import AuthedRequest
from incidents.permissions import Action, can
from oncall.models import Schedule


def require_manager(request: AuthedRequest) -> None:
    # The services check the same predicate again; this only answers 403 before a form is shown.
    if not can(request.user, Action.MANAGE_ONCALL):
        raise PermissionDenied("You may not change schedules or escalation policies.")


def schedule_or_404(pk: int) -> Schedule:
    try:
        return Schedule.objects.select_related("team").get(pk=pk)
    except Schedule.DoesNotExist as exc:
        raise Http404("No such schedule.") from exc


def form_status(form: forms.BaseForm) -> int:
    return 400 if form.is_bound else 200
