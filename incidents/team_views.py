"""Web pages for teams: the list, and a team's page with its people, services and open incidents.

Who is on call for a team belongs to the on-call app, which this app does not import: the team
page loads that section from it with htmx, as the incident list loads the home page's box.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.requests import AuthedRequest
from incidents import selectors
from incidents.models import Team
from incidents.views import PAGE_SIZE


@login_required
@require_GET
def team_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request, "incidents/team_list.html", {"teams": selectors.team_list(user=request.user)}
    )


@login_required
@require_GET
def team_detail(request: AuthedRequest, slug: str) -> HttpResponse:
    try:
        team = selectors.team_get(slug=slug)
    except Team.DoesNotExist as exc:
        raise Http404("No such team.") from exc
    open_incidents = selectors.incident_list(
        user=request.user, filters=selectors.IncidentFilters(statuses=["open"], team=team.slug)
    )
    # The newest open incidents; the incident list, filtered to the team, pages through the rest.
    page = Paginator(open_incidents, PAGE_SIZE).get_page(1)
    leads = list(team.leads.all())
    return render(
        request,
        "incidents/team_detail.html",
        {
            "team": team,
            "leads": leads,
            "lead_ids": {lead.pk for lead in leads},
            "members": list(team.members.all()),
            "services": list(team.services.all()),
            "open_incidents": page,
        },
    )
