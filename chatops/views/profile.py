"""/me/slack/: a user's own Slack link, seen, confirmed from the link `/incident link` gave
them in Slack, or removed."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.requests import AuthedRequest
from chatops.client import slack_configured
from chatops.services import people
from ops.forms import add_service_errors


class SlackLinkConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=500)


@require_GET
@login_required
def slack_profile(request: AuthedRequest) -> HttpResponse:
    context = {"link": people.slack_link_get(request.user), "slack_configured": slack_configured()}
    return render(request, "chatops/slack_profile.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def slack_link_confirm(request: AuthedRequest) -> HttpResponse:
    """GET shows whose Slack account is about to be linked and a button; POST links it."""
    form = SlackLinkConfirmForm(request.POST if request.method == "POST" else request.GET)
    status = 200
    if form.is_valid():
        token = form.cleaned_data["token"]
        try:
            if request.method == "POST":
                people.slack_link_confirm(user=request.user, token=token, actor=request.user)
            else:
                people.slack_link_token_read(token)
        except ValidationError as error:
            add_service_errors(form, error)
            status = 400
        else:
            if request.method == "POST":
                messages.success(request, "Your Slack account is linked.")
                return HttpResponseRedirect(reverse("chatops:slack-profile"))
    else:
        status = 400
    return render(request, "chatops/slack_link_confirm.html", {"form": form}, status=status)


@require_POST
@login_required
def slack_link_remove(request: AuthedRequest) -> HttpResponse:
    if people.slack_link_remove(user=request.user, actor=request.user):
        messages.success(request, "Your Slack account is no longer linked.")
    return HttpResponseRedirect(reverse("chatops:slack-profile"))
