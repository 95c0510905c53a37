"""POST /slack/commands: `/incident …`. Stored first, answered within Slack's 3 seconds."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from chatops import commands
from chatops.models import InboundKind
from chatops.services.inbound import inbound_store
from chatops.verification import from_slack


@from_slack
def slash_command(request: HttpRequest) -> HttpResponse:
    payload = {name: request.POST.get(name, "") for name in request.POST}
    trigger_id = payload.get("trigger_id", "")
    if not trigger_id or not payload.get("user_id"):
        return JsonResponse({"ok": False, "error": "invalid_payload"}, status=400)
    inbound = inbound_store(key=f"command:{trigger_id}", kind=InboundKind.COMMAND, payload=payload)
    if inbound is None:
        # The same trigger id twice is a replay of a request already taken.
        return HttpResponse(status=200)
    answer = commands.answer(inbound)
    return JsonResponse(answer) if answer else HttpResponse(status=200)
