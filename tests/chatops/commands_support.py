"""What the commands, modal and button tests share: linked people, signed requests, and the
workers' part (stored requests processed, outbox rows sent) run in the test's thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from accounts.models import User
from chatops.models import CallState, InboundRequest, IncidentChannel, SlackCall, SlackUserLink
from chatops.services.inbound import inbound_process
from chatops.services.outbox import call_send
from incidents.models import Incident
from tests.chatops.slack_requests import block_action, post_signed, slash_command
from tests.harness import in_thread


def link(user: User, slack_user_id: str) -> User:
    SlackUserLink.objects.create(
        user=user, slack_user_id=slack_user_id, source="hand", linked_at=timezone.now()
    )
    return user


def give_channel(incident: Incident, channel_id: str) -> IncidentChannel:
    return IncidentChannel.objects.create(
        incident=incident, channel_id=channel_id, name=f"inc-{incident.number}"
    )


def run_tasks(rounds: int = 5) -> None:
    """Process every stored Slack request and send every due outbox row, as the workers
    would, until nothing is left to do."""
    for _ in range(rounds):
        busy = False
        for pk in InboundRequest.objects.filter(processed_at__isnull=True).values_list(
            "pk", flat=True
        ):
            busy |= inbound_process(inbound_id=pk) != "skipped"
        due = SlackCall.objects.filter(
            state__in=(CallState.PENDING, CallState.QUEUED), due_at__lte=timezone.now()
        )
        for pk in due.values_list("pk", flat=True):
            busy |= call_send(call_id=pk) == "sent"
        if not busy:
            return


def command(
    client: Any,
    secret: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0GENERAL",
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> Any:
    return post_signed(
        client,
        "/slack/commands",
        *slash_command(
            text,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            trigger_id=trigger_id,
        ),
        secret=secret,
    )


def click(
    client: Any,
    secret: str,
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str,
    message_ts: str = "1700000000.000100",
    response_url: str,
    selected: str | None = None,
    block_id: str = "actions",
) -> Any:
    request = block_action(
        action_id,
        value,
        block_id=block_id,
        user_id=user_id,
        channel_id=channel_id,
        message_ts=message_ts,
        response_url=response_url,
    )
    if selected is not None:
        # A static_select: Slack sends the chosen option instead of a value.
        payload = request.payload
        action = payload["actions"][0]
        action.pop("value", None)
        action["type"] = "static_select"
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": selected},
            "value": selected,
        }
        request = request._replace(body=urlencode({"payload": json.dumps(payload)}))
    return post_signed(client, "/slack/interactions", *request, secret=secret)


def said(stub: Any, key: str) -> list[str]:
    """The texts posted to the response_url with that key."""
    return [str(body.get("text", "")) for body in stub.responses_at(key)]


def race(work: Callable[[], object], *, runs: int = 2) -> list[BaseException]:
    """Run `work` in `runs` threads released at the same moment, as overlapping task runs
    (a retry while the first is still going). Returns what they raised."""
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as error:
            errors.append(error)

    threads = [in_thread(run) for _ in range(runs)]
    for thread in threads:
        thread.join(timeout=30)
    return errors
