"""The review meeting's part of the postmortem page: when it is, in the viewer's zone, and for
responders a form to move it and a button to cancel it.

Both post to one URL (postmortems:meeting). An htmx request gets the re-rendered panel back
(400 with the form's errors, nothing written, on bad input); a plain form post is redirected to
the postmortem page, so the panel works without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.requests import AuthedRequest, wants_fragment
from incidents.models import Incident
from incidents.permissions import Action, can
from ops.forms import add_service_errors
from ops.timestamps import in_zone
from postmortems import selectors_meetings
from postmortems.models import Postmortem, ReviewMeeting
from postmortems.services import meetings

TEMPLATE = "postmortems/_meetings.html"
WALL_FORMAT = "%Y-%m-%dT%H:%M"


class MeetingForm(forms.Form):
    # Read in the viewer's zone, the one the panel names (Django's DateTimeField applies the
    # active zone; a time that zone skips or repeats at a DST change is a form error).
    starts_at = forms.DateTimeField(
        label="New time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WALL_FORMAT),
        error_messages={"invalid": "Enter a date and time, such as 2026-03-04 14:00."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        self.fields[
            "starts_at"
        ].help_text = (
            f"In your time zone, {zone}. Everyone invited gets the change in their calendar."
        )


def _postmortem_or_404(request: AuthedRequest, number: int) -> Postmortem:
    try:
        return selectors_meetings.postmortem_get_for_user(user=request.user, number=number)
    except (Incident.DoesNotExist, Postmortem.DoesNotExist) as exc:
        raise Http404("No such postmortem.") from exc


def panel_context(
    *,
    postmortem: Postmortem,
    request: HttpRequest,
    form: MeetingForm | None = None,
    notice: str = "",
    notice_ok: bool = False,
) -> dict[str, Any]:
    """What templates/postmortems/_meetings.html needs on the postmortem page."""
    meeting = selectors_meetings.meeting_of(postmortem)
    user = request.user
    may_change = isinstance(user, User) and can(user, Action.RESPOND, postmortem.incident)
    if form is None and may_change:
        shown = meeting.starts_at if meeting is not None else None
        form = MeetingForm(
            initial={"starts_at": in_zone(shown).strftime(WALL_FORMAT) if shown else None},
            auto_id="meeting-%s",
        )
    ends_at = meeting.starts_at + meeting.duration if meeting is not None else None
    return {
        "postmortem": postmortem,
        "number": postmortem.incident.number,
        "meeting": meeting,
        "ends_at": ends_at,
        "may_change": may_change,
        "form": form,
        "zone": timezone.get_current_timezone_name(),
        "agenda": meetings.AGENDA,
        "invitations": (
            selectors_meetings.invitation_states(meeting) if meeting is not None else None
        ),
        "notice": notice,
        "notice_ok": notice_ok,
    }


def _panel(
    request: AuthedRequest, postmortem: Postmortem, *, status: int = 200, **context: Any
) -> HttpResponse:
    panel = panel_context(postmortem=postmortem, request=request, **context)
    return render(request, TEMPLATE, {"meetings": panel}, status=status)


def _back(request: AuthedRequest, postmortem: Postmortem, text: str, *, ok: bool) -> HttpResponse:
    (messages.success if ok else messages.error)(request, text)
    return redirect(postmortem.get_absolute_url() + "#meeting-panel")


def _when(moment: datetime) -> str:
    local = in_zone(moment)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} ({timezone.get_current_timezone_name()})"


@login_required
@require_http_methods(["GET", "POST"])
def meeting(request: AuthedRequest, number: int) -> HttpResponse:
    """GET: the panel alone. POST: move the meeting (`starts_at`), or `action=cancel`."""
    postmortem = _postmortem_or_404(request, number)
    if request.method == "GET":
        return _panel(request, postmortem)
    if not can(request.user, Action.RESPOND, postmortem.incident):
        if not wants_fragment(request):
            raise PermissionDenied("Your role may not change this review meeting.")
        return _panel(
            request, postmortem, status=403, notice="Your role may not change this meeting."
        )
    current = selectors_meetings.meeting_of(postmortem)
    if request.POST.get("action") == "cancel":
        return _cancel(request, postmortem, current)
    return _move(request, postmortem, current)


def _move(
    request: AuthedRequest, postmortem: Postmortem, current: ReviewMeeting | None
) -> HttpResponse:
    form = MeetingForm(request.POST, auto_id="meeting-%s")
    if form.is_valid():
        try:
            if current is None:
                moved = meetings.meeting_schedule(
                    postmortem=postmortem,
                    starts_at=form.cleaned_data["starts_at"],
                    actor=request.user,
                )
            else:
                moved = meetings.meeting_move(
                    meeting=current, starts_at=form.cleaned_data["starts_at"], actor=request.user
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            verb = "Scheduled" if current is None or current.cancelled else "Moved"
            text = f"{verb} the review meeting to {_when(moved.starts_at)}; invitations follow."
            if wants_fragment(request):
                return _panel(request, postmortem, notice=text, notice_ok=True)
            return _back(request, postmortem, text, ok=True)
    if wants_fragment(request):
        return _panel(request, postmortem, status=400, form=form)
    errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
    return _back(request, postmortem, errors, ok=False)


def _cancel(
    request: AuthedRequest, postmortem: Postmortem, current: ReviewMeeting | None
) -> HttpResponse:
    if current is None:
        text = "There is no review meeting to cancel."
        if wants_fragment(request):
            return _panel(request, postmortem, status=409, notice=text)
        return _back(request, postmortem, text, ok=False)
    meetings.meeting_cancel(meeting=current, actor=request.user)
    text = "Cancelled the review meeting; everyone invited is told."
    if wants_fragment(request):
        return _panel(request, postmortem, notice=text, notice_ok=True)
    return _back(request, postmortem, text, ok=True)


urlpatterns: list[URLPattern] = [
    path("incidents/<int:number>/postmortem/meeting/", meeting, name="meeting"),
]
