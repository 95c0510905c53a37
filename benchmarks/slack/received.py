"""What Slack received, read from the stub's state: the bot's channels per incident, each
incident's announcement and what it shows, the calls made between two states."""

from collections import Counter, defaultdict
from typing import Any


def announcement(messages: list[dict[str, Any]], number: int) -> dict[str, Any] | None:
    """The incident's announcement among a channel's messages: the bot's message whose header
    is `INC-<n>: <title>` (notices in the same channel have no header)."""
    for message in messages:
        blocks = message.get("blocks") or []
        if (
            message.get("bot_id")
            and blocks
            and blocks[0].get("type") == "header"
            and blocks[0]["text"]["text"].startswith(f"INC-{number}:")
        ):
            return message
    return None


def incident_channels(state: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Channels the bot created, by incident number (from the name, inc-<n>-…)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for channel in state["channels"]:
        parts = channel["name"].split("-")
        if channel["created_by_bot"] and len(parts) > 1 and parts[1].isdigit():
            found[int(parts[1])].append(channel)
    return found


def shows_status(message: dict[str, Any] | None, label: str) -> bool:
    """Both the fallback text and the blocks' Status field say `label`."""
    if message is None:
        return False
    fields = [
        field["text"]
        for block in message.get("blocks") or []
        if block.get("type") == "section"
        for field in block.get("fields") or []
    ]
    return f" · {label} · " in message["text"] and f"*Status*\n{label}" in fields


def count_delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    """Calls per method, and refusals per method and error, between two states."""
    calls = Counter(after["call_counts"]) - Counter(before["call_counts"])
    refused = Counter(
        f"{e['method']} {e['error']}" for e in after["errors"][len(before["errors"]) :]
    )
    return calls, refused
