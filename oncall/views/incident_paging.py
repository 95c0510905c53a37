"""The paging panel's actions on the incident page: page a person or a team, escalate, refresh.

An htmx request gets the re-rendered panel back, with what happened as a notice; a plain form
post is redirected to the incident page, whose top shows what happened, so the panel works
without JavaScript.
A refusal is a notice in the panel (htmx: 400, 403, or 409 when the incident was resolved or
its escalation moved on since the form was shown) or a message on the page (plain post; a
permission refusal is the 403 page), never a 500.
"""

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthedRequest, wants_fragment
from incidents import selectors as incident_selectors
from incidents.models import Incident
from incidents.permissions import Action, can
from oncall import panels
from oncall.forms import EscalateForm, PageablePerson, PageTeamForm, PageUserForm
from oncall.selectors import incident_for_paging_state, pageable_teams
from oncall.services import paging_by_hand
from oncall.services.paging_by_hand import PagingConflict

Refusal = PermissionDenied | ValidationError | PagingConflict


def _incident_or_404(request: AuthedRequest, number: int) -> Incident:
    try:
        return incident_selectors.incident_get_for_user(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc


def _panel(
    request: AuthedRequest,
    incident: Incident,
    *,
    status: int = 200,
    page_form: PageUserForm | None = None,
    team_form: PageTeamForm | None = None,
    escalate_open: bool = False,
    notice: str = "",
    notice_ok: bool = False,
) -> HttpResponse:
    context = panels.paging_context(
        incident,
        request,
        page_form=page_form,
        team_form=team_form,
        escalate_open=escalate_open,
        notice=notice,
        notice_ok=notice_ok,
    )
    return render(request, panels.TEMPLATE, {"incident": incident, **context}, status=status)


def _done(request: AuthedRequest, incident: Incident, text: str) -> HttpResponse:
    if wants_fragment(request):
        return _panel(request, incident, notice=text, notice_ok=True)
    messages.success(request, text)
    return redirect(incident)


def _refused(
    request: AuthedRequest,
    incident: Incident,
    error: Refusal,
    *,
    page_form: PageUserForm | None = None,
    team_form: PageTeamForm | None = None,
    escalate_open: bool = False,
) -> HttpResponse:
    if isinstance(error, PermissionDenied):
        text = str(error) or "You may not page people for this incident."
        if not wants_fragment(request):
            raise error  # the 403 page shows the reason
        return _panel(request, incident, status=403, notice=text)
    if isinstance(error, PagingConflict):
        if not wants_fragment(request):
            messages.error(request, str(error))
            return redirect(incident)
        # The panel as it is now (re-read: the incident changed), the forms left empty: what
        # was chosen was chosen on a view that no longer holds.
        fresh = _incident_or_404(request, incident.number)
        return _panel(request, fresh, status=409, escalate_open=escalate_open, notice=str(error))
    text = " ".join(error.messages)
    if wants_fragment(request):
        # A form with errors shows them at its fields; a notice would only repeat them.
        shown = any(form is not None and form.errors for form in (page_form, team_form))
        notice = "" if shown else text
        return _panel(
            request,
            incident,
            status=400,
            page_form=page_form,
            team_form=team_form,
            escalate_open=escalate_open,
            notice=notice,
        )
    messages.error(request, text)
    return redirect(incident)


def _paging_action(
    action: Callable[[AuthedRequest, Incident], HttpResponse],
) -> Callable[[AuthedRequest, int], HttpResponse]:
    """A POST about incident `number` by someone who may respond to it.

    The services check again; this answers a viewer before their form is even read.
    """

    @require_POST
    @login_required
    @functools.wraps(action)
    def view(request: AuthedRequest, number: int) -> HttpResponse:
        incident = _incident_or_404(request, number)
        if not can(request.user, Action.RESPOND, incident):
            denied = PermissionDenied("Your role may not page people for this incident.")
            return _refused(request, incident, denied)
        return action(request, incident)

    return view


@require_GET
@login_required
def incident_paging(request: AuthedRequest, number: int) -> HttpResponse:
    """The panel alone."""
    return _panel(request, _incident_or_404(request, number))


def _reload_when_signed_out(
    view: Callable[[AuthedRequest, int], HttpResponse],
) -> Callable[[AuthedRequest, int], HttpResponse]:
    """login_required for what a page polls: signed out meanwhile (elsewhere, or the session
    expired), htmx is told to reload the page, which asks to sign in and comes back, rather
    than follow the redirect and swap the sign-in page into the panel."""
    required = login_required(view)

    @functools.wraps(view)
    def polled(request: AuthedRequest, number: int) -> HttpResponse:
        if not request.user.is_authenticated and request.htmx:
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return required(request, number)

    return polled


@require_GET
@_reload_when_signed_out
def incident_paging_live(request: AuthedRequest, number: int) -> HttpResponse:
    """The panel's state alone, which it polls every few seconds while the incident is open:
    204 (htmx swaps nothing) while it is the version `v` the page shows. Three queries."""
    try:
        incident = incident_for_paging_state(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc
    live = panels.live_state(incident, request)
    if request.GET.get("v") == live.version:
        return HttpResponse(status=204)
    response = render(request, panels.LIVE_TEMPLATE, {"incident": incident, "live": live})
    response["Cache-Control"] = "no-store"
    return response


@_paging_action
def incident_page_user(request: AuthedRequest, incident: Incident) -> HttpResponse:
    form = PageUserForm(request.POST, auto_id="page-%s")
    if not form.is_valid():
        error = ValidationError(list(form.errors.get("user") or ["Choose someone to page."]))
        return _refused(request, incident, error, page_form=form)
    person: PageablePerson = form.cleaned_data["user"]
    try:
        paging_by_hand.page_user_for_incident(incident=incident, user=person, actor=request.user)
    except (PermissionDenied, ValidationError, PagingConflict) as error:
        return _refused(request, incident, error, page_form=form)
    if not person.reachable:
        return _done(
            request,
            incident,
            f"{person.display_name} has no verified contact method, so nobody was paged. "
            "The timeline records it.",
        )
    return _done(request, incident, f"Paged {person.display_name}.")


@_paging_action
def incident_page_team(request: AuthedRequest, incident: Incident) -> HttpResponse:
    form = PageTeamForm(request.POST, auto_id="page-team-%s", teams=pageable_teams())
    if not form.is_valid():
        error = ValidationError(list(form.errors.get("team") or ["Choose a team to page."]))
        return _refused(request, incident, error, team_form=form)
    team = form.cleaned_data["team"]
    try:
        paged = paging_by_hand.page_team_for_incident(
            incident=incident, team=team, actor=request.user
        )
    except ValidationError as error:
        form.add_error("team", error.messages)
        return _refused(request, incident, error, team_form=form)
    except (PermissionDenied, PagingConflict) as error:
        return _refused(request, incident, error, team_form=form)
    if not paged:
        return _done(
            request,
            incident,
            f"Nobody is on call for {team.name} right now, so nobody was paged. "
            "The timeline records it.",
        )
    names = ", ".join(person.display_name for person in paged)
    return _done(request, incident, f"Paged {team.name}: {names}.")


@_paging_action
def incident_escalate(request: AuthedRequest, incident: Incident) -> HttpResponse:
    form = EscalateForm(request.POST)
    if not form.is_valid():
        # Not confirmed (a form from before Escalate asked first): ask now.
        error = ValidationError("Escalating pages people now: confirm the level to page.")
        return _refused(request, incident, error, escalate_open=True)
    try:
        escalated = paging_by_hand.escalate_now(
            incident=incident, actor=request.user, level=form.cleaned_data["level"]
        )
    except (PermissionDenied, ValidationError, PagingConflict) as error:
        return _refused(request, incident, error, escalate_open=True)
    if escalated is None:
        return _refused(
            request,
            incident,
            ValidationError("Nobody was paged: no escalation policy applies to this incident."),
        )
    level = f"level {escalated.level} of {escalated.policy.name}"
    if escalated.paged is None:
        return _done(request, incident, f"Escalated: {level} is paged now.")
    if not escalated.paged:
        return _done(
            request,
            incident,
            f"Escalated, but nobody is on call for {level} right now, so nobody was paged. "
            "The timeline records it.",
        )
    names = ", ".join(person.display_name for person in escalated.paged)
    return _done(request, incident, f"Escalated: paged {level}: {names}.")
