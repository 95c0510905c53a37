"""What the schedule, layer, override and policy pages share.

Their views call incidents.permissions.require(request.user, Action.MANAGE_ONCALL) before a
form is shown, so a non-manager gets the 403 page at once; the services check it again.
"""

from django import forms
from django.http import Http404

from oncall.models import Schedule


def schedule_or_404(pk: int) -> Schedule:
    try:
        return Schedule.objects.select_related("team").get(pk=pk)
    except Schedule.DoesNotExist as exc:
        raise Http404("No such schedule.") from exc


def form_status(form: forms.BaseForm) -> int:
    return 400 if form.is_bound else 200
