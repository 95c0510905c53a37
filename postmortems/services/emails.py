"""The email outbox: OutgoingEmail rows handed to workers and sent once."""

from __future__ import annotations

from datetime import datetime


def emails_dispatch_due(*, now: datetime | None = None) -> list[int]:
    """Hand the due rows to workers; the ids handed out. (Filled in by the meeting work.)"""
    return []
