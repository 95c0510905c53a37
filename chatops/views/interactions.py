"""POST /slack/interactions: button clicks and modal submissions.

Inline handlers answer in the request (opening a modal, a submission's errors); the others run
in a task from the stored request. Slack does not retry interactions, but a double click sends
two: each is its own request, and the handlers are idempotent where it matters (acknowledge).
"""

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from chatops import interactions
from chatops.models import InboundKind
from chatops.services.inbound import inbound_store
from chatops.verification import from_slack

logger = logging.getLogger(__name__)


@from_slack
def interactivity(request: HttpRequest) -> HttpResponse:
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return JsonResponse({"ok": False, "error": "invalid_payload"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"ok": False, "error": "invalid_payload"}, status=400)
    interaction = interactions.Interaction(payload)
    if interaction.type == "block_actions":
        return _block_actions(interaction)
    if interaction.type == "view_submission":
        return _view_submission(interaction)
    # view_closed, shortcuts we do not offer: heard, nothing to do.
    return HttpResponse(status=200)


def _block_actions(interaction: interactions.Interaction) -> HttpResponse:
    answer: dict[str, Any] | None = None
    for action in interaction.actions:
        action_id = str(action.get("action_id", ""))
        registered = interactions.action_handler(action_id)
        if registered is None:
            if action_id not in interactions.LINK_ACTIONS:
                logger.info("no handler for Slack action %r", action_id)
            continue
        if registered.inline:
            answer = registered.handler(interaction, action) or answer
        else:
            key = f"action:{action.get('action_ts', '')}:{interaction.trigger_id}:{action_id}"
            stored = {"interaction": interaction.payload, "action": action}
            inbound_store(key=key, kind=InboundKind.INTERACTION, payload=stored)
    return JsonResponse(answer) if answer else HttpResponse(status=200)


def _view_submission(interaction: interactions.Interaction) -> HttpResponse:
    view = interaction.view
    registered = interactions.view_handler(str(view.get("callback_id", "")))
    if registered is None:
        return HttpResponse(status=200)
    if registered.inline:
        answer = registered.handler(interaction, view)
        return JsonResponse(answer) if answer else HttpResponse(status=200)
    key = f"view:{view.get('id', '')}:{view.get('hash', '')}"
    inbound_store(
        key=key, kind=InboundKind.INTERACTION, payload={"interaction": interaction.payload}
    )
    return HttpResponse(status=200)
