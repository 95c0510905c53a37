"""How chatops hears of incidents: domain events in, outbox rows out."""

from chatops import commands, interactions, slack_events
from chatops.models import InboundKind
from chatops.services import inbound


def connect() -> None:
    inbound.register_processor(InboundKind.EVENT, slack_events.process_event)
    inbound.register_processor(InboundKind.COMMAND, commands.process_command)
    inbound.register_processor(InboundKind.INTERACTION, interactions.process_interaction)
