"""Web pages for integrations: list, create, show how to connect, edit, pause, rotate.

A token is shown once: the answer to the POST that made it renders it, and nothing stores it.
Those answers are pages, not redirects, so reloading them re-posts (the browser asks first).
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.requests import AuthedRequest
from alerts import connect, selectors
from alerts.forms import ActiveForm, IntegrationCreateForm, IntegrationSettingsForm
from alerts.models import Integration, IntegrationKind
from alerts.services import integrations
from incidents.permissions import Action, can, require
from ops.confirm import Confirmation, confirmation_page, confirmed
from ops.forms import add_service_errors


def _integration_or_404(request: AuthedRequest, pk: int) -> Integration:
    try:
        return selectors.integration_get_for_user(user=request.user, pk=pk)
    except Integration.DoesNotExist as exc:
        raise Http404("No such integration.") from exc


@login_required
def integration_list(request: AuthedRequest) -> HttpResponse:
    integrations = selectors.integration_list(user=request.user)
    return render(
        request,
        "alerts/integration_list.html",
        {
            "integrations": integrations,
            "can_manage": can(request.user, Action.MANAGE_INTEGRATIONS),
        },
    )


@login_required
def integration_create(request: AuthedRequest) -> HttpResponse:
    # The services check again; this only answers 403 before a form is shown.
    require(request.user, Action.MANAGE_INTEGRATIONS)
    form = IntegrationCreateForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        data = form.settings()
        try:
            integration, token = integrations.integration_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _detail(request, integration, token=token, status=201)
    status = 400 if form.is_bound else 200
    return render(request, "alerts/integration_form.html", {"form": form}, status=status)


@login_required
def integration_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return _detail(request, _integration_or_404(request, pk))


@login_required
def integration_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    integration = _integration_or_404(request, pk)
    # The services check again; this only answers 403 before a form is shown.
    require(request.user, Action.MANAGE_INTEGRATIONS)
    data = request.POST if request.method == "POST" else None
    form = IntegrationSettingsForm.for_integration(integration, data)
    if form.is_valid():
        try:
            integrations.integration_update(
                integration=integration, actor=request.user, **form.settings()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("alerts:integration-detail", pk=integration.pk)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "alerts/integration_form.html",
        {"form": form, "integration": integration},
        status=status,
    )


@require_POST
@login_required
def integration_set_active(request: AuthedRequest, pk: int) -> HttpResponse:
    integration = _integration_or_404(request, pk)
    form = ActiveForm(request.POST)
    form.is_valid()  # a missing box is False, which pauses
    active = bool(form.cleaned_data.get("active"))
    integrations.integration_update(integration=integration, actor=request.user, active=active)
    messages.success(
        request, "Resumed: alerts are accepted." if active else "Paused: alerts are refused."
    )
    return redirect("alerts:integration-detail", pk=integration.pk)


@require_POST
@login_required
def integration_rotate_token(request: AuthedRequest, pk: int) -> HttpResponse:
    integration = _integration_or_404(request, pk)
    require(request.user, Action.MANAGE_INTEGRATIONS)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                question=f"Rotate the token of {integration.name}?",
                consequence=(
                    "The current token stops working at once: every alert source that sends "
                    "with it is refused until it is given the new one, which Tocsin shows "
                    "only once. This cannot be undone."
                ),
                action="Rotate token",
                cancel_url=reverse("alerts:integration-detail", args=[integration.pk]),
            ),
        )
    token = integrations.integration_rotate_token(integration=integration, actor=request.user)
    return _detail(request, integration, token=token, rotated=True)


def _detail(
    request: AuthedRequest,
    integration: Integration,
    *,
    token: str = "",
    rotated: bool = False,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "integration": integration,
        "token": token,
        "rotated": rotated,
        "url": connect.webhook_url(integration),
        "token_in_path_url": (
            connect.token_in_path_url(integration, token)
            if integration.kind == IntegrationKind.GENERIC
            else ""
        ),
        "curl": connect.curl_example(integration, token),
        "receiver": (
            connect.alertmanager_receiver(integration, token)
            if integration.kind == IntegrationKind.ALERTMANAGER
            else ""
        ),
        "group_window_minutes": int(integration.group_window.total_seconds() // 60),
        "can_manage": can(request.user, Action.MANAGE_INTEGRATIONS),
        "set_aside": selectors.alerts_set_aside(integration=integration),
    }
    response = render(request, "alerts/integration_detail.html", context, status=status)
    if token:
        # The one copy of the secret: no cache, no back-forward cache, may keep it.
        response["Cache-Control"] = "no-store"
    return response
