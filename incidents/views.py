"""Web pages for incidents: parse the request, call a selector or a service, render.

Every action on the incident page is a POST to its own small view. An htmx request gets the
re-rendered incident panel back, so the page changes in place; a plain form post is redirected
to the incident page (post/redirect/get), so the UI also works without JavaScript.

The team pages are here too. Who is on call for a team belongs to the on-call app, which this
app does not import: it adds its box to the team page and to the incident list through
incidents.boxes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Protocol

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property
from django.utils.http import parse_etags, quote_etag
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.requests import AuthedRequest, render_fragment_or_page, wants_fragment
from incidents import selectors, services
from incidents.forms import (
    ChecklistForm,
    DeclareForm,
    HighlightForm,
    IncidentFilterForm,
    NoteForm,
    ReopenForm,
    ResolveForm,
    RoleForm,
    SeverityForm,
    StatusForm,
    UpdateForm,
    expected_holder_name,
)
from incidents.models import (
    ROLE_RESPONSIBILITIES,
    SINGLE_HOLDER_ROLES,
    STATUS_ORDER,
    Incident,
    RoleKind,
    Status,
    Team,
)
from incidents.permissions import Action, can
from incidents.timeline import timeline_event_set_highlight
from incidents.transitions import (
    IncidentConflict,
    StaleIncident,
    transition_allowed,
    transition_is_backward,
)
from ops.forms import add_service_errors

PAGE_SIZE = 25

# The forms of the incident panel, by the name the templates use for each.
ACTION_FORMS: dict[str, type[forms.Form]] = {
    "status": StatusForm,
    "severity": SeverityForm,
    "role": RoleForm,
    "note": NoteForm,
    "update": UpdateForm,
    "resolve": ResolveForm,
    "reopen": ReopenForm,
}


def _incident_or_404(request: AuthedRequest, number: int) -> Incident:
    try:
        return selectors.incident_get_for_user(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc


# How often an open page asks whether what it shows changed (live.js pauses hidden tabs).
LIVE_INCIDENT_SECONDS = 3
LIVE_LIST_SECONDS = 5


def _unchanged(request: AuthedRequest, version: str) -> bool:
    """The poll's If-None-Match names `version`: the page already shows it."""
    return quote_etag(version) in parse_etags(request.headers.get("If-None-Match", ""))


def _not_modified(version: str) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = quote_etag(version)
    return response


def _versioned(response: HttpResponse, version: str) -> HttpResponse:
    response["ETag"] = quote_etag(version)
    # Revalidated every time: a poll never reads a stored answer.
    patch_cache_control(response, private=True, no_cache=True)
    return response


class CountedPaginator(Paginator[Incident]):
    """A paginator told its count, which the list's version aggregate already read."""

    def __init__(self, object_list: QuerySet[Incident], per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@login_required
def incident_list(request: AuthedRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET)
    incidents = selectors.incident_list(user=request.user, filters=form.filters())
    state = selectors.incident_list_state(incidents)
    # The results' poller (htmx) sends the version it shows; the page itself is never 304.
    if wants_fragment(request) and _unchanged(request, state.version):
        return _not_modified(state.version)
    paginator = CountedPaginator(incidents, PAGE_SIZE, count=state.count)
    page = paginator.get_page(request.GET.get("page"))
    response = render_fragment_or_page(
        request,
        fragment="incidents/_results.html",
        page="incidents/list.html",
        context={
            "form": form,
            "page": page,
            "live_version": state.version,
            "live_seconds": LIVE_LIST_SECONDS,
        },
    )
    return _versioned(response, state.version) if wants_fragment(request) else response


@login_required
def incident_declare(request: AuthedRequest) -> HttpResponse:
    if not can(request.user, Action.DECLARE):
        raise PermissionDenied("You may not declare incidents.")
    if request.method == "POST":
        form = DeclareForm(request.POST)
    else:
        form = DeclareForm(initial={"team": selectors.team_of(request.user)})
        # Declaring starts with typing the title; a form sent back with errors is left to
        # its first error.
        form.fields["title"].widget.attrs["autofocus"] = True
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.incident_declare(
                actor=request.user,
                title=data["title"],
                severity=data["severity"],
                summary=data["summary"],
                services=data["services"],
                team=data["team"],
                private=data["private"],
                drill=data["drill"],
                commander=request.user if data["take_command"] else None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect(incident)
    status = 400 if form.is_bound else 200
    return render(request, "incidents/declare.html", {"form": form}, status=status)


@login_required
def incident_detail(request: AuthedRequest, number: int) -> HttpResponse:
    incident = _incident_or_404(request, number)
    return render(request, "incidents/detail.html", _panel_context(request, incident))


@login_required
@require_GET
def incident_live(request: AuthedRequest, number: int) -> HttpResponse:
    """The incident page's poll: 304 with no body while the incident is as the page shows it
    (If-None-Match), otherwise the page's changing parts (incidents/_live.html)."""
    try:
        version = selectors.incident_live_version(user=request.user, number=number)
    except Incident.DoesNotExist as exc:
        raise Http404("No such incident.") from exc
    if _unchanged(request, version):
        return _not_modified(version)
    context = _panel_context(request, _incident_or_404(request, number))
    response = render(request, "incidents/_live.html", context)
    return _versioned(response, context["live_version"])


@dataclass(frozen=True)
class RoleSlot:
    kind: str
    label: str
    duty: str
    holders: list[User]


def _role_slots(incident: Incident) -> list[RoleSlot]:
    holders: dict[str, list[User]] = {kind: [] for kind in RoleKind.values}
    for assignment in incident.roles.all():  # prefetched with users by the selector
        holders[assignment.role].append(assignment.user)
    return [
        RoleSlot(kind.value, kind.label, ROLE_RESPONSIBILITIES[kind], holders[kind.value])
        for kind in RoleKind
    ]


TIMELINE_RECENT = 100


def _status_moves(incident: Incident, *, back: bool) -> list[tuple[str, str]]:
    """Legal moves forward (or `back`), except the two that have their own buttons."""
    own_buttons = {Status.ACKNOWLEDGED, Status.RESOLVED}
    return [
        (status, Status(status).label)
        for status in STATUS_ORDER
        if status not in own_buttons
        and transition_allowed(incident.status, status)
        and transition_is_backward(incident.status, status) == back
    ]


def _panel_context(
    request: AuthedRequest,
    incident: Incident,
    *,
    bound: dict[str, forms.Form] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    bound = bound or {}
    panel_forms = {
        key: bound.get(key) or form_class(auto_id=f"{key}-%s")
        for key, form_class in ACTION_FORMS.items()
    }
    roles = _role_slots(incident)
    expected = _expected_values(incident, roles)
    for key, values in expected.items():
        panel_forms[key].initial = {**values, **panel_forms[key].initial}
    panel_forms["severity"].initial.setdefault("severity", incident.severity_id)
    timeline = selectors.incident_timeline(incident=incident).reverse()
    show_all = request.GET.get("timeline") == "all"
    timeline_total = incident.timeline.count()
    return {
        "incident": incident,
        # Long timelines (alert storms) show their newest entries until asked for the rest, so
        # the page costs the same however long the incident ran.
        "timeline": timeline if show_all else timeline[:TIMELINE_RECENT],
        "timeline_total": timeline_total,
        # What the page shows, as the live endpoint computes it: polls answer 304 while the
        # incident still has it. Read before the timeline, so never newer than what is shown.
        "live_version": selectors.incident_version(
            updated_at=incident.updated_at, timeline_count=timeline_total
        ),
        # The highlight URLs are built from one reverse(): a {% url %} per timeline entry was a
        # measurable share of the page's time with a hundred entries (benchmarks/pages.py).
        "highlight_prefix": reverse("incidents:detail", args=[incident.number]) + "timeline/",
        "checklist": selectors.incident_checklist(incident=incident),
        "updates": selectors.incident_status_updates(incident=incident),
        "roles": roles,
        "next_statuses": _status_moves(incident, back=False),
        "back_statuses": _status_moves(incident, back=True),
        "can_respond": can(request.user, Action.RESPOND, incident),
        "timeline_all": show_all,
        "live_seconds": LIVE_INCIDENT_SECONDS,
        "forms": panel_forms,
        "notice": notice,
    }


def _expected_values(incident: Incident, roles: list[RoleSlot]) -> dict[str, dict[str, Any]]:
    """The hidden expected-value fields of each panel form: the state the person sees, which
    the services compare with the incident's under its lock (a stale view is refused)."""
    holders = {
        expected_holder_name(slot.kind): slot.holders[0].pk if slot.holders else ""
        for slot in roles
        if slot.kind in SINGLE_HOLDER_ROLES
    }
    return {
        "status": {"expected_status": incident.status},
        "resolve": {"expected_status": incident.status},
        "severity": {"expected_severity": incident.severity_id},
        "role": holders,
    }


def _stale(
    request: AuthedRequest, number: int, key: str, form_class: type[forms.Form], message: str
) -> HttpResponse:
    """The panel as the incident is now, with the refused form open on its message and what the
    person chose, its expected values brought up to date: submitting it again is the retry."""
    incident = _incident_or_404(request, number)
    data = request.POST.copy()
    for name, value in _expected_values(incident, _role_slots(incident))[key].items():
        data[name] = value
    form = form_class(data, auto_id=f"{key}-%s")
    form.is_valid()
    form.add_error(None, message)
    return _panel(request, incident, key=key, status=409, bound={key: form})


def _panel(
    request: AuthedRequest,
    incident: Incident,
    *,
    key: str,
    status: int = 200,
    bound: dict[str, forms.Form] | None = None,
    notice: str = "",
) -> HttpResponse:
    """The panel after the action named `key` ("" for one without a form)."""
    template = "incidents/_panel.html" if wants_fragment(request) else "incidents/detail.html"
    context = _panel_context(request, incident, bound=bound, notice=notice)
    # Every other action keeps the composer's forms as they are in the page (hx-preserve): a
    # note being typed survives a severity change, the refusal of a stale one, or an update
    # posted beside it; only the form that acted comes back (emptied, or with its errors).
    context["keep_note"] = key != "note"
    context["keep_update"] = key != "update"
    return render(request, template, context, status=status)


# What a panel action does with the incident and the cleaned form: call one service. `P` is the
# URL's arguments after the incident's number (a checklist item's id), which the view passes on.
type Perform[**P] = Callable[Concatenate[AuthedRequest, Incident, dict[str, Any], P], object]


class ConfirmFirst(ValidationError):
    """A panel action asks before it acts (a public update): its form comes back bound, with
    this on it, answered 200, as a question is not an error."""


class PanelView[**P](Protocol):
    """The view: Django passes the incident's `number` and the rest of the URL by keyword."""

    def __call__(
        self, request: AuthedRequest, number: int, *args: P.args, **kwargs: P.kwargs
    ) -> HttpResponse: ...


def panel_action[**P](
    form_class: type[forms.Form] | None = None, *, key: str = ""
) -> Callable[[Perform[P]], PanelView[P]]:
    """A POST that changes an incident from its panel (`key` names the panel's form).

    The view validates the posted form, calls `perform(request, incident, cleaned_data, **url
    kwargs)` and answers with the panel, its errors (400), its question (ConfirmFirst, 200), a
    refusal (403) or a conflict (409); a plain form post is redirected to the incident page.
    """

    def decorate(perform: Perform[P]) -> PanelView[P]:
        # Not functools.wraps: that would give the view perform's signature, which it does not
        # take; the name and the docstring are what Django's debug pages and logs show.
        def view(
            request: AuthedRequest, number: int, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponse:
            incident = _incident_or_404(request, number)
            form = form_class(request.POST, auto_id=f"{key}-%s") if form_class else None
            bound = {key: form} if form is not None and key else {}
            if form is not None and not form.is_valid():
                return _panel(request, incident, key=key, status=400, bound=bound)
            data = form.cleaned_data if form is not None else {}
            try:
                perform(request, incident, data, *args, **kwargs)
            except ValidationError as exc:
                status = 200 if isinstance(exc, ConfirmFirst) else 400
                if form is None:
                    return _panel(
                        request, incident, key=key, status=status, notice=" ".join(exc.messages)
                    )
                add_service_errors(form, exc)
                return _panel(request, incident, key=key, status=status, bound=bound)
            except StaleIncident as exc:
                if wants_fragment(request) and form_class is not None and key in ACTION_FORMS:
                    return _stale(request, number, key, form_class, str(exc))
                messages.error(request, str(exc))
                return redirect(incident)
            except IncidentConflict as exc:
                if wants_fragment(request):
                    return _panel(request, incident, key=key, status=409, notice=str(exc))
                messages.error(request, str(exc))
                return redirect(incident)
            except PermissionDenied as exc:
                if wants_fragment(request):
                    notice = str(exc) or "You may not do that."
                    return _panel(request, incident, key=key, status=403, notice=notice)
                raise
            if wants_fragment(request):
                # Re-read through the selector: the service changed the row and its relations.
                return _panel(request, _incident_or_404(request, number), key=key)
            return redirect(incident)

        view.__name__, view.__qualname__ = perform.__name__, perform.__qualname__
        view.__doc__ = perform.__doc__
        return require_POST(login_required(view))

    return decorate


@panel_action()
def incident_acknowledge(
    request: AuthedRequest, incident: Incident, data: dict[str, Any]
) -> object:
    return services.incident_acknowledge(incident=incident, actor=request.user)


@panel_action(StatusForm, key="status")
def incident_status(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_set_status(
        incident=incident,
        actor=request.user,
        status=data["status"],
        expected_status=data["expected_status"] or None,
    )


@panel_action(SeverityForm, key="severity")
def incident_severity(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_set_severity(
        incident=incident,
        actor=request.user,
        severity=data["severity"],
        expected_severity=data["expected_severity"],
    )


@panel_action(RoleForm, key="role")
def incident_role(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_assign_role(
        incident=incident,
        actor=request.user,
        role=RoleKind(data["role"]),
        user=data["user"],
        expected_holder=data["expected_holder"],
    )


@panel_action(NoteForm, key="note")
def incident_note(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_add_note(incident=incident, actor=request.user, text=data["text"])


@panel_action(UpdateForm, key="update")
def incident_update(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    public = data["audience"] == "public"
    # A private incident's public update is refused by the service: nothing to confirm.
    if public and not data["confirm_public"] and not incident.private:
        raise ConfirmFirst(UpdateForm.CONFIRM_PUBLIC, code=UpdateForm.CONFIRM_PUBLIC_CODE)
    return services.incident_post_update(
        incident=incident, actor=request.user, message=data["message"], public=public
    )


@panel_action(ResolveForm, key="resolve")
def incident_resolve(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_resolve(
        incident=incident,
        actor=request.user,
        resolution=data["resolution"],
        expected_status=data["expected_status"] or None,
    )


@panel_action(ReopenForm, key="reopen")
def incident_reopen(request: AuthedRequest, incident: Incident, data: dict[str, Any]) -> object:
    return services.incident_reopen(incident=incident, actor=request.user, reason=data["reason"])


@panel_action(ChecklistForm)
def checklist_item_toggle(
    request: AuthedRequest, incident: Incident, data: dict[str, Any], item_id: int
) -> object:
    item = incident.checklist.filter(pk=item_id).first()
    if item is None:
        raise Http404("No such checklist item.")
    return services.checklist_item_set_done(item=item, actor=request.user, done=data["done"])


@panel_action(HighlightForm)
def timeline_event_highlight(
    request: AuthedRequest, incident: Incident, data: dict[str, Any], event_id: int
) -> object:
    event = incident.timeline.filter(pk=event_id).first()
    if event is None:
        raise Http404("No such timeline entry.")
    return timeline_event_set_highlight(
        event=event, actor=request.user, highlighted=data["highlighted"]
    )


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
