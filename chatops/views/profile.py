"""/me/slack/: a user's own Slack link, seen, set by hand or removed."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.requests import AuthedRequest
from chatops.client import slack_configured
from chatops.models import SlackUserLink
from chatops.services import people
from ops.forms import add_service_errors


class SlackLinkForm(forms.Form):
    slack_user_id = forms.CharField(
        label="Slack member ID",
        max_length=32,
        help_text="In Slack: your profile, ⋮ (more), Copy member ID. It starts with U or W.",
    )


def _render(
    request: AuthedRequest, form: SlackLinkForm | None = None, status: int = 200
) -> HttpResponse:
    link = people.slack_link_get(request.user)
    context = {
        "link": link,
        "form": form
        or SlackLinkForm(initial={"slack_user_id": link.slack_user_id if link else ""}),
        "slack_configured": slack_configured(),
    }
    return render(request, "chatops/slack_profile.html", context, status=status)


@require_GET
@login_required
def slack_profile(request: AuthedRequest) -> HttpResponse:
    return _render(request)


@require_POST
@login_required
def slack_link_set(request: AuthedRequest) -> HttpResponse:
    form = SlackLinkForm(request.POST)
    if form.is_valid():
        try:
            people.slack_link_set(
                user=request.user,
                slack_user_id=form.cleaned_data["slack_user_id"],
                source=SlackUserLink.Source.HAND,
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Your Slack account is linked.")
            return HttpResponseRedirect(reverse("chatops:slack-profile"))
    return _render(request, form, status=400)


@require_POST
@login_required
def slack_link_remove(request: AuthedRequest) -> HttpResponse:
    if people.slack_link_remove(user=request.user, actor=request.user):
        messages.success(request, "Your Slack account is no longer linked.")
    return HttpResponseRedirect(reverse("chatops:slack-profile"))
