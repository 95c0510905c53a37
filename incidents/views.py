from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from incidents import selectors
from incidents.models import Incident


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = selectors.incident_list(user=request.user)[:50]  # type: ignore[arg-type]
    return render(request, "incidents/list.html", {"incidents": incidents})


@login_required
def incident_detail(request: HttpRequest, number: int) -> HttpResponse:
    try:
        incident = selectors.incident_get_for_user(user=request.user, number=number)  # type: ignore[arg-type]
    except Incident.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "incidents/detail.html", {"incident": incident})
