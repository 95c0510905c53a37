"""`/incident` and its subcommands: parsed and checked in the request, carried out in a task.

Placeholder until the commands land: every subcommand answers with help.
"""

from typing import Any

from chatops.models import InboundRequest


def answer(inbound: InboundRequest) -> dict[str, Any] | None:
    """The HTTP answer to a slash command (an ephemeral message), given within Slack's 3 s."""
    return {"response_type": "ephemeral", "text": "Tocsin's /incident commands are coming."}


def process_command(inbound: InboundRequest) -> None:
    """The task side of a command that was accepted."""
