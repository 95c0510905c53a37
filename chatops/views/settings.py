"""The Slack page for admins: is Slack connected, with which scopes, and is the outbox flowing.

The page never calls Slack itself: "Check now" hands the check (auth.test) to a task, whose
answer is kept in the cache and shown with the time it was made.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from chatops import tasks
from chatops.services.channels import team_channel_set
from chatops.services.setup import (
    REQUIRED_SCOPES,
    BadBaseUrl,
    base_url_clean,
    connection_check_ask,
    connection_check_asked,
    connection_check_last,
    slack_status,
    team_channels,
)
from incidents.models import Team


def _admin(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_admin:
        raise PermissionDenied("Only admins may see and check the Slack connection.")
    return user


@login_required
@require_GET
def slack_settings(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return _render(request)


def _render(
    request: HttpRequest, *, team_errors: dict[int, str] | None = None, status: int = 200
) -> HttpResponse:
    check = connection_check_last()
    asked_at = connection_check_asked()
    checking = asked_at is not None and (check is None or check.checked_at < asked_at)
    try:
        base_url = base_url_clean(request.build_absolute_uri("/"))
    except BadBaseUrl:
        # Served over http (development): the command still prints a manifest for the real one.
        base_url = ""
    team_errors = team_errors or {}
    teams = [
        {"team": row.team, "channel": row.channel, "error": team_errors.get(row.team.pk, "")}
        for row in team_channels()
    ]
    context: dict[str, Any] = {
        "check": check,
        "checking": checking,
        "status": slack_status(),
        "missing": [(scope, REQUIRED_SCOPES[scope]) for scope in check.missing] if check else [],
        "base_url": base_url,
        "teams": teams,
    }
    return render(request, "chatops/settings.html", context, status=status)


@login_required
@require_POST
def team_channel(request: HttpRequest, slug: str) -> HttpResponse:
    """Set or forget which channel hears of the team's SEV3s."""
    admin = _admin(request)
    team = get_object_or_404(Team, slug=slug)
    try:
        team_channel_set(
            team=team,
            channel_id=request.POST.get("channel_id", ""),
            channel_name=request.POST.get("channel_name", ""),
            actor=admin,
        )
    except ValidationError as error:
        return _render(request, team_errors={team.pk: " ".join(error.messages)}, status=400)
    return HttpResponseRedirect(reverse("chatops:settings") + f"#team-{team.slug}")


@login_required
@require_POST
def slack_check_now(request: HttpRequest) -> HttpResponse:
    _admin(request)
    connection_check_ask()
    transaction.on_commit(tasks.check_connection.delay, robust=True)
    return HttpResponseRedirect(reverse("chatops:settings"))
