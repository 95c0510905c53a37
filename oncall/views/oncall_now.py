"""The "on call now" box of the home page and the "on call now" section of team pages, which
those pages load with htmx: incidents stays unaware of on call, and its pages' own queries stay
their own."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.requests import AuthedRequest, render_fragment_or_page
from incidents.models import Team
from oncall import selectors


@login_required
@require_GET
def oncall_now(request: AuthedRequest) -> HttpResponse:
    return render(
        request, "oncall/_oncall_now.html", {"rows": selectors.on_call_everywhere(timezone.now())}
    )


def _team_or_404(slug: str) -> Team:
    try:
        return Team.objects.get(slug=slug)
    except Team.DoesNotExist as exc:
        raise Http404("No such team.") from exc


@login_required
@require_GET
def team_oncall(request: AuthedRequest, slug: str) -> HttpResponse:
    """A team's schedules and escalation policies. Without JavaScript the team page's link opens
    it as a page of its own."""
    on_call = selectors.team_on_call(team=_team_or_404(slug), now=timezone.now())
    return render_fragment_or_page(
        request,
        fragment="oncall/_team_oncall.html",
        page="oncall/team_oncall.html",
        context={"on_call": on_call},
    )
