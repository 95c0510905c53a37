"""POST /slack/events: the Events API. Stored by event_id, answered at once, handled in a task."""

import json
import logging

from django.http import HttpRequest, HttpResponse, JsonResponse

from chatops.models import InboundKind
from chatops.services.inbound import inbound_store
from chatops.slack_events import event_handled
from chatops.verification import from_slack

logger = logging.getLogger(__name__)


@from_slack
def events(request: HttpRequest) -> HttpResponse:
    try:
        envelope = json.loads(request.body)
    except ValueError:
        return JsonResponse({"ok": False, "error": "invalid_json"}, status=400)
    if not isinstance(envelope, dict):
        return JsonResponse({"ok": False, "error": "invalid_payload"}, status=400)
    kind = envelope.get("type")
    if kind == "url_verification":
        return JsonResponse({"challenge": str(envelope.get("challenge", ""))})
    if kind != "event_callback":
        # app_rate_limited and the like: nothing to do but say we heard.
        return HttpResponse(status=200)
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str) or not event_id or not isinstance(envelope.get("event"), dict):
        return JsonResponse({"ok": False, "error": "invalid_payload"}, status=400)
    event_type = str(envelope["event"].get("type", ""))
    if not event_handled(event_type):
        # A subscription we do not act on (or no longer do): acknowledged so Slack does not
        # retry it, and not stored, so a busy channel does not fill the table.
        logger.debug("ignored Slack event %s (%s)", event_id, event_type)
        return HttpResponse(status=200)
    inbound_store(key=f"event:{event_id}", kind=InboundKind.EVENT, payload=envelope)
    return HttpResponse(status=200)
