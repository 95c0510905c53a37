"""Slack messages pinned or 📌-reacted in an incident channel, as highlighted timeline entries.

One entry per message (`PinnedMessage` is unique by channel and ts), however many ways it is
held: the pin and each person's 📌. When nothing holds it any more the entry is marked removed
(struck through, kept); holding it again restores it. The entry carries the message's own
time, not the pin's, so the postmortem timeline reads in the order things were said.

Callers run in a task (chatops.pins, from stored Events API events): the reads from Slack
(the message, its permalink, its author's name) happen before the transaction that records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from accounts.actors import SYSTEM, Actor
from chatops.client import failure_from
from chatops.models import PinnedMessage
from chatops.services.people import user_for_slack_id
from incidents.models import EventKind, Incident, Source, TimelineEvent
from incidents.permissions import Action, can
from incidents.timeline import incident_record_event, timeline_event_set_removed

logger = logging.getLogger(__name__)

PIN = "pin"
# Long messages are cut on the timeline; the permalink leads to the whole.
TEXT_MAX = 2000


def reaction_holder(slack_user_id: str) -> str:
    return f"reaction:{slack_user_id}"


@dataclass(frozen=True)
class SlackMessage:
    """What the timeline keeps of a Slack message."""

    channel_id: str
    ts: str
    text: str
    slack_user: str  # the author's Slack user id; empty for a bot without one
    author_name: str  # a bot's own name (our announcement); people are named at record time
    permalink: str

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts), tz=UTC)


def pin_holder_may_hold(slack_user_id: str, incident: Incident) -> bool:
    """Whether this Slack user's pin or 📌 counts: they are linked to a Tocsin user who may
    respond to the incident. Anyone else's is logged and ignored."""
    user = user_for_slack_id(slack_user_id)
    if user is not None and can(user, Action.RESPOND, incident):
        return True
    logger.info(
        "ignored a pin by Slack user %s in %s's channel: %s",
        slack_user_id or "(unknown)",
        incident.ref,
        "not linked to a Tocsin user" if user is None else f"{user} may not respond",
    )
    return False


def pinned_message_needs_entry(*, channel_id: str, message_ts: str) -> bool:
    """Whether the message has no entry yet, so the caller must fetch it from Slack."""
    return not PinnedMessage.objects.filter(
        channel_id=channel_id, message_ts=message_ts, timeline_event_id__isnull=False
    ).exists()


def slack_message_fetch(
    client: WebClient, *, channel_id: str, ts: str, known: dict[str, Any] | None = None
) -> SlackMessage | None:
    """Read the message (unless the event carried it) and its permalink; None if it is gone.

    Slack failures other than "gone" raise SlackFailure, so the event is processed again.
    """
    try:
        message = known if known is not None else _message_read(client, channel_id, ts)
        if message is None:
            return None
        permalink = str(client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"])
    except (SlackApiError, SlackClientError, OSError) as error:
        failure = failure_from(error)
        if failure.code in ("message_not_found", "thread_not_found", "channel_not_found"):
            return None
        raise failure from error
    bot_name = str((message.get("bot_profile") or {}).get("name") or message.get("username") or "")
    return SlackMessage(
        channel_id=channel_id,
        ts=ts,
        text=str(message.get("text") or ""),
        slack_user=str(message.get("user") or ""),
        author_name=bot_name,
        # Only Slack's own https links are shown as "View in Slack".
        permalink=permalink if permalink.startswith("https://") else "",
    )


def _message_read(client: WebClient, channel_id: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts`, a thread reply included; None when Slack no longer has it."""
    history = client.conversations_history(channel=channel_id, latest=ts, inclusive=True, limit=1)
    found = [m for m in history.get("messages") or [] if m.get("ts") == ts]
    if found:
        return dict(found[0])
    # conversations.history never returns thread replies: a reply is read from its thread.
    # `oldest` as well as `latest` pins the window to the reply, so the thread's parent
    # (older) is not what the limit of one returns.
    replies = client.conversations_replies(
        channel=channel_id, ts=ts, oldest=ts, latest=ts, inclusive=True, limit=1
    )
    found = [m for m in replies.get("messages") or [] if m.get("ts") == ts]
    return dict(found[0]) if found else None


def slack_user_name(client: WebClient, slack_user_id: str) -> str:
    """The Slack user's name for the entry's quote; their id when Slack will not say."""
    try:
        user = client.users_info(user=slack_user_id).get("user") or {}
    except (SlackApiError, SlackClientError, OSError) as error:
        logger.info("users.info %s failed: %s", slack_user_id, failure_from(error))
        return slack_user_id
    profile = user.get("profile") or {}
    return str(
        profile.get("real_name") or profile.get("display_name") or user.get("name") or slack_user_id
    )


def pinned_message_hold(
    *,
    incident: Incident,
    channel_id: str,
    message_ts: str,
    holder: str,
    message: SlackMessage | None,
    author_name: str = "",
) -> PinnedMessage:
    """Record that `holder` (PIN or a reaction_holder) holds the message on the timeline.

    `message` is needed only when the message has no entry yet (pinned_message_needs_entry);
    without it, the hold is recorded and the entry waits for a call that has it.
    """
    with transaction.atomic():
        PinnedMessage.objects.bulk_create(
            [PinnedMessage(incident=incident, channel_id=channel_id, message_ts=message_ts)],
            ignore_conflicts=True,
        )
        pinned = PinnedMessage.objects.select_for_update().get(
            channel_id=channel_id, message_ts=message_ts
        )
        held_by = list(pinned.held_by)
        if holder not in held_by:
            held_by.append(holder)
        pinned.held_by = held_by
        if pinned.timeline_event_id is None and message is not None:
            pinned.timeline_event_id = _record_entry(incident, message, author_name).pk
        elif pinned.timeline_event_id is not None and pinned.removed_at is not None:
            _set_removed(pinned, removed=False)
        pinned.removed_at = None
        pinned.save(update_fields=["held_by", "timeline_event_id", "removed_at"])
    return pinned


def pinned_message_release(*, channel_id: str, message_ts: str, holder: str) -> bool:
    """`holder` let go of the message; when nothing holds it any more its entry is marked
    removed. Returns True when the entry was marked removed now."""
    with transaction.atomic():
        pinned = (
            PinnedMessage.objects.select_for_update()
            .filter(channel_id=channel_id, message_ts=message_ts)
            .first()
        )
        if pinned is None or holder not in pinned.held_by:
            return False
        pinned.held_by = [h for h in pinned.held_by if h != holder]
        removed_now = not pinned.held_by and pinned.removed_at is None
        if removed_now:
            _set_removed(pinned, removed=True)
            pinned.removed_at = datetime.now(tz=UTC)
        pinned.save(update_fields=["held_by", "removed_at"])
    return removed_now


def _set_removed(pinned: PinnedMessage, *, removed: bool) -> None:
    if pinned.timeline_event_id is None:
        return
    event = TimelineEvent.objects.filter(pk=pinned.timeline_event_id).first()
    if event is not None:
        timeline_event_set_removed(event=event, removed=removed)


def _record_entry(incident: Incident, message: SlackMessage, author_name: str) -> TimelineEvent:
    author = user_for_slack_id(message.slack_user) if message.slack_user else None
    actor: Actor = author if author is not None else SYSTEM
    name = (
        author.display_name
        if author is not None
        else author_name or message.author_name or message.slack_user or "Slack"
    )
    text = message.text if len(message.text) <= TEXT_MAX else message.text[: TEXT_MAX - 1] + "…"
    return incident_record_event(
        incident=incident,
        kind=EventKind.SLACK,
        source=Source.SLACK,
        message=f"{name} in Slack: “{text}”",
        actor=actor,
        at=message.at,
        highlighted=True,
        data={
            "channel": message.channel_id,
            "ts": message.ts,
            "permalink": message.permalink,
            "slack_user": message.slack_user,
        },
    )
