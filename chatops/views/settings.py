"""The Slack page for admins: is Slack connected, with which scopes, and is the outbox flowing.

The page never calls Slack itself: "Check now" hands the check (auth.test) to a task, whose
answer is kept in the cache and shown with the time it was made.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chatops import tasks
from chatops.services.setup import (
    REQUIRED_SCOPES,
    BadBaseUrl,
    base_url_clean,
    connection_check_ask,
    connection_check_asked,
    connection_check_last,
    slack_status,
)


def _require_admin(request: HttpRequest) -> None:
    if not getattr(request.user, "is_admin", False):
        raise PermissionDenied("Only admins may see and check the Slack connection.")


@login_required
@require_GET
def slack_settings(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    check = connection_check_last()
    asked_at = connection_check_asked()
    checking = asked_at is not None and (check is None or check.checked_at < asked_at)
    try:
        base_url = base_url_clean(request.build_absolute_uri("/"))
    except BadBaseUrl:
        # Served over http (development): the command still prints a manifest for the real one.
        base_url = ""
    context = {
        "check": check,
        "checking": checking,
        "status": slack_status(),
        "missing": [(scope, REQUIRED_SCOPES[scope]) for scope in check.missing] if check else [],
        "base_url": base_url,
    }
    return render(request, "chatops/settings.html", context)


@login_required
@require_POST
def slack_check_now(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    connection_check_ask()
    transaction.on_commit(tasks.check_connection.delay, robust=True)
    return HttpResponseRedirect(reverse("chatops:settings"))
