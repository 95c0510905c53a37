"""What the events helper's tests share: running stored requests and the outbox by hand."""

from __future__ import annotations

from typing import Any

from chatops.models import InboundRequest, IncidentChannel
from chatops.services import outbox
from chatops.services.inbound import inbound_process
from incidents.models import Incident
from tests.stubs.slack import SlackStub


def process_stored() -> list[str]:
    """Process every stored request not yet processed, as the worker would."""
    return [
        inbound_process(inbound_id=pk)
        for pk in InboundRequest.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    ]


def send_outbox(capture: Any) -> list[str]:
    """Hand out and send every due outbox row, synchronously.

    `capture` is pytest-django's django_capture_on_commit_callbacks."""
    sent: list[str] = []
    with capture(execute=True):
        outbox.calls_dispatch_due(
            enqueue=lambda ids: sent.extend(outbox.call_send(call_id=i) for i in ids)
        )
    return sent


def incident_channel(stub: SlackStub, incident: Incident) -> str:
    """The incident's channel, as the channels helper would have created it."""
    name = f"inc-{incident.number}"
    channel_id = stub.add_channel(name, bot_is_member=True)
    IncidentChannel.objects.create(incident=incident, channel_id=channel_id, name=name)
    return channel_id
