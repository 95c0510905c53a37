"""Pins and 📌 reactions in incident channels, from the Events API, onto the timeline.

Handlers run in a task from the stored event (chatops.slack_events); events in channels that
are not incident channels are ignored. Reads from Slack here are allowed: this is a task.

Anyone in a public incident channel can pin or react (guests, people with no Tocsin account),
and what they hold would lead the postmortem: only a Slack user linked to a Tocsin user who may
respond to the incident holds a message (services.pins.pin_holder_may_hold). Others are logged
and ignored, so their un-pin does not take down what a responder pinned either.
"""

from __future__ import annotations

from typing import Any

from chatops.client import slack_client
from chatops.selectors import incident_for_channel
from chatops.services import pins
from chatops.services.people import user_for_slack_id
from chatops.slack_events import register_event

PUSHPIN = "pushpin"


def pin_added(event: dict[str, Any], envelope: dict[str, Any]) -> None:
    item = event.get("item") or {}
    message = item.get("message") or {}
    channel_id = str(event.get("channel_id") or item.get("channel") or "")
    ts = str(message.get("ts") or "")
    if item.get("type", "message") != "message" or not ts:
        return
    _hold(channel_id, ts, by=str(event.get("user") or ""), holder=pins.PIN, known=message)


def pin_removed(event: dict[str, Any], envelope: dict[str, Any]) -> None:
    item = event.get("item") or {}
    channel_id = str(event.get("channel_id") or item.get("channel") or "")
    ts = str((item.get("message") or {}).get("ts") or "")
    incident = incident_for_channel(channel_id)
    if incident is None or not ts:
        return
    # The pin is one holder whoever pinned, so only someone who may hold it lets it go.
    if pins.pin_holder_may_hold(str(event.get("user") or ""), incident):
        pins.pinned_message_release(channel_id=channel_id, message_ts=ts, holder=pins.PIN)


def reaction_added(event: dict[str, Any], envelope: dict[str, Any]) -> None:
    item = event.get("item") or {}
    if event.get("reaction") != PUSHPIN or item.get("type") != "message":
        return
    slack_user_id = str(event.get("user") or "")
    _hold(
        str(item.get("channel") or ""),
        str(item.get("ts") or ""),
        by=slack_user_id,
        holder=pins.reaction_holder(slack_user_id),
        known=None,
    )


def reaction_removed(event: dict[str, Any], envelope: dict[str, Any]) -> None:
    item = event.get("item") or {}
    if event.get("reaction") != PUSHPIN or item.get("type") != "message":
        return
    pins.pinned_message_release(
        channel_id=str(item.get("channel") or ""),
        message_ts=str(item.get("ts") or ""),
        holder=pins.reaction_holder(str(event.get("user") or "")),
    )


def _hold(channel_id: str, ts: str, *, by: str, holder: str, known: dict[str, Any] | None) -> None:
    incident = incident_for_channel(channel_id)
    if incident is None or not ts or not pins.pin_holder_may_hold(by, incident):
        return
    message = None
    author_name = ""
    if pins.pinned_message_needs_entry(channel_id=channel_id, message_ts=ts):
        client = slack_client()
        message = pins.slack_message_fetch(client, channel_id=channel_id, ts=ts, known=known)
        if message is None:
            # Deleted before we got to it: nothing to quote.
            return
        if message.slack_user and user_for_slack_id(message.slack_user) is None:
            author_name = pins.slack_user_name(client, message.slack_user)
    pins.pinned_message_hold(
        incident=incident,
        channel_id=channel_id,
        message_ts=ts,
        holder=holder,
        message=message,
        author_name=author_name,
    )


def connect() -> None:
    register_event("pin_added", pin_added)
    register_event("pin_removed", pin_removed)
    register_event("reaction_added", reaction_added)
    register_event("reaction_removed", reaction_removed)
