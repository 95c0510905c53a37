"""The incident's Slack channel: created once, kept in step, archived after resolution.

Everything here only writes rows (`IncidentChannel`, outbox calls); the senders registered in
`connect()` make the Slack calls from a task. Keys:

- `channel:<incident>`: conversations.create, sent once per incident. A `name_taken` is first
  checked against channels our bot made (a worker killed after Slack created the channel but
  before we stored its id leaves one behind; it is adopted), then retried with `-2`, `-3`…
- `channel-setup:<incident>` (refreshed): topic (only when it changed), invitations (only
  people not invited yet), the bookmark to the web page (once).
- `archive:<incident>:<n>` / `unarchive:<incident>:<n>`: the archive timer and the reopen.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from accounts.actors import Actor
from chatops import blocks
from chatops.client import SlackFailure
from chatops.models import CallState, IncidentChannel, SlackCall, SlackUserLink, TeamChannel
from chatops.services import outbox
from chatops.services.outbox import Cancel, NotReady
from incidents.models import Incident, Status, Team
from incidents.permissions import Action, require

logger = logging.getLogger(__name__)

CREATE = "channel.create"
SETUP = "channel.setup"
ARCHIVE = "channel.archive"
UNARCHIVE = "channel.unarchive"

NAME_MAX = 80
TOPIC_MAX = 250
# How many suffixes to try before giving the name up to a person (a workspace with
# inc-12-db-down … inc-12-db-down-20 all taken is not one we can guess our way through).
NAME_ATTEMPTS = 20
# NotReady reasons start with this, so creating the channel can wake exactly those rows and
# leave alone rows that wait for Slack's Retry-After.
WAITING_FOR_CHANNEL = "waiting for the incident channel"
# How long a row waiting for the channel sleeps before it looks again. Creating (or
# unarchiving) the channel wakes the waiting rows at once (_wake_waiting); this is only the
# backstop for a wake that was missed, so it need not poll Slack's worth of rows every 2 s.
CHANNEL_WAIT = 30.0
CREATION_UNDER_WAY_WAIT = 2.0
# conversations.invite errors about one person, not the call: that person is given up on
# (inviting them again would fail again), the others are invited.
USER_INVITE_ERRORS = frozenset(
    {
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "user_is_restricted",
        "user_is_ultra_restricted",
        "user_team_not_in_channel",
        "cant_invite",
        "cant_invite_self",
        "ura_max_channels",
        "no_user",
    }
)
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_SLUG_SEPARATORS = re.compile(r"[^a-z0-9]+")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")


# --- names ---------------------------------------------------------------------------------


def slug(text: str) -> str:
    """Lowercase ASCII words joined by `-` ("Checkout: 50% errors" -> "checkout-50-errors")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_SEPARATORS.sub("-", ascii_text.lower()).strip("-")


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when there is one, no trailing `-`."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text.strip("-")
    cut = text[:limit]
    if text[limit] != "-" and "-" in cut:
        cut = cut[: cut.rindex("-")]
    return cut.strip("-")


def _clean(name: str) -> str:
    """What Slack accepts: lowercase letters, digits, `-` and `_`; no `-` at either end."""
    name = _NOT_NAME.sub("-", name.lower())
    return re.sub(r"-{2,}", "-", name).strip("-")


def channel_name(*, number: int, title: str, attempt: int = 1) -> str:
    """The channel's name from SLACK_CHANNEL_NAME_TEMPLATE, at most 80 characters; the
    `attempt`th try after name_taken gets `-<attempt>`."""
    template = settings.SLACK_CHANNEL_NAME_TEMPLATE
    suffix = f"-{attempt}" if attempt > 1 else ""
    fixed = _clean(template.format(number=number, slug=""))
    budget = NAME_MAX - len(suffix) - len(fixed) - 1  # the `-` that joins slug and the rest
    name = _clean(template.format(number=number, slug=_cut(slug(title), budget)))
    name = _cut(name, NAME_MAX - len(suffix)) or f"inc-{number}"
    return name + suffix


# --- what the domain events ask for ---------------------------------------------------------


def channel_open(*, incident_id: int) -> IncidentChannel | None:
    """A channel for this incident: the row and its one create call. Nothing without Slack."""
    if not settings.SLACK_BOT_TOKEN:
        return None
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    channel, _ = IncidentChannel.objects.get_or_create(
        incident=incident,
        defaults={
            "name": channel_name(number=incident.number, title=incident.title),
            "private": incident.private,
        },
    )
    outbox.call_add(kind=CREATE, key=f"channel:{incident_id}", incident_id=incident_id)
    setup_refresh(incident_id=incident_id)
    return channel


def setup_refresh(*, incident_id: int) -> None:
    """Bring the channel's topic and members in step (the bookmark rides along, once)."""
    if not IncidentChannel.objects.filter(incident_id=incident_id).exists():
        return
    outbox.call_refresh(kind=SETUP, key=f"channel-setup:{incident_id}", incident_id=incident_id)


def channel_resolved(*, incident_id: int, now: datetime | None = None) -> None:
    """Start the archive timer."""
    now = now or timezone.now()
    due = now + timedelta(days=settings.SLACK_ARCHIVE_AFTER_DAYS)
    IncidentChannel.objects.filter(incident_id=incident_id).update(archive_due_at=due)


def channel_reopened(*, incident_id: int) -> None:
    """Stop the archive timer; an archived channel is unarchived before anything posts in it
    (the other senders wait while `archived_at` is set and the incident is open)."""
    with transaction.atomic():
        channel = (
            IncidentChannel.objects.select_for_update().filter(incident_id=incident_id).first()
        )
        if channel is None:
            return
        channel.archive_due_at = None
        channel.save(update_fields=["archive_due_at"])
        if channel.archived_at is not None:
            outbox.call_add(
                kind=UNARCHIVE,
                key=f"unarchive:{incident_id}:{int(channel.archived_at.timestamp())}",
                incident_id=incident_id,
            )


def channels_archive_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """The tick's part: an archive call for each channel whose timer ran out. Returns how many."""
    now = now or timezone.now()
    due = list(
        IncidentChannel.objects.filter(
            archive_due_at__lte=now, archived_at__isnull=True, incident__status=Status.RESOLVED
        )
        .exclude(channel_id="")
        .only("incident_id", "archive_due_at")[:limit]
    )
    for channel in due:
        # The timer's own time names the call: a resolution after a reopen archives again.
        timer = int(channel.archive_due_at.timestamp()) if channel.archive_due_at else 0
        outbox.call_add(
            kind=ARCHIVE,
            key=f"archive:{channel.incident_id}:{timer}",
            incident_id=channel.incident_id,
        )
    return len(due)


def team_channel_set(
    *, team: Team, channel_id: str, channel_name: str = "", actor: Actor
) -> TeamChannel | None:
    """Where the team's SEV3s are announced; an empty channel id forgets it."""
    require(actor, Action.MANAGE_CATALOG)
    channel_id = channel_id.strip()
    if not channel_id:
        TeamChannel.objects.filter(team=team).delete()
        return None
    if not _CHANNEL_ID.fullmatch(channel_id):
        raise ValidationError(
            {"channel_id": "A Slack channel id looks like C0123ABCD (Slack: channel details)."}
        )
    channel, _ = TeamChannel.objects.update_or_create(
        team=team,
        defaults={"channel_id": channel_id, "channel_name": channel_name.strip().lstrip("#")},
    )
    return channel


# --- senders ---------------------------------------------------------------------------------


def bot_user_id(client: WebClient) -> str:
    """Our bot's Slack user id (auth.test), cached per token."""
    token_hash = hashlib.sha256((client.token or "").encode()).hexdigest()[:16]
    key = f"chatops:bot-user:{token_hash}"
    cached = cache.get(key)
    if cached:
        return str(cached)
    user_id = str(client.auth_test()["user_id"])
    cache.set(key, user_id, 24 * 3600)
    return user_id


def channel_for_call(call: SlackCall) -> IncidentChannel:
    if call.incident_id is None:
        raise Cancel("the call names no incident")
    channel = (
        IncidentChannel.objects.select_related("incident", "incident__severity")
        .filter(incident_id=call.incident_id)
        .first()
    )
    if channel is None:
        raise Cancel("the incident has no channel row")
    return channel


def channel_ready(channel: IncidentChannel) -> str:
    """The channel id to post in, or NotReady / Cancel: not created yet; archived and waiting
    to be unarchived (incident reopened); archived for good (incident resolved)."""
    if not channel.channel_id:
        create = SlackCall.objects.filter(key=f"channel:{channel.incident_id}").first()
        if create is not None and create.state == CallState.FAILED:
            raise Cancel(f"the channel could not be created: {create.last_error}")
        # Creating the channel wakes the rows waiting for it, but not one being sent at that
        # moment (like this one): while the creation is under way, look again soon. While it
        # waits out a rate limit or a backoff, the wake-up will come.
        waiting = create is not None and create.state == CallState.PENDING
        wait = CHANNEL_WAIT if waiting else CREATION_UNDER_WAY_WAIT
        raise NotReady(f"{WAITING_FOR_CHANNEL}: not created yet", wait=wait)
    if channel.archived_at is not None:
        if channel.incident.status == Status.RESOLVED:
            raise Cancel("the channel is archived")
        raise NotReady(f"{WAITING_FOR_CHANNEL}: being unarchived", wait=CHANNEL_WAIT)
    return channel.channel_id


def _send_create(call: SlackCall, client: WebClient) -> dict[str, Any]:
    channel = channel_for_call(call)
    if channel.channel_id:
        return {"channel_id": channel.channel_id, "name": channel.name}
    incident = channel.incident
    for attempt in range(1, NAME_ATTEMPTS + 1):
        name = channel_name(number=incident.number, title=incident.title, attempt=attempt)
        try:
            answer = client.conversations_create(name=name, is_private=channel.private)
        except SlackApiError as error:
            if error.response.get("error") != "name_taken":
                raise
            adopted = _our_channel_named(client, name, incident)
            if adopted is None:
                continue
            return _created(channel, adopted, name)
        return _created(channel, str(answer["channel"]["id"]), name)
    raise SlackFailure("name_taken", f"tried {NAME_ATTEMPTS} names", permanent=True)


def _our_channel_named(client: WebClient, name: str, incident: Incident) -> str | None:
    """The channel of that name, if our bot made it for this incident and no incident has it.

    Our bot made it since the incident was declared: a previous attempt whose answer we never
    stored (the worker died), not a channel someone else made or one of another install."""
    bot = bot_user_id(client)
    cursor = ""
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=1000,
            cursor=cursor or None,
        )
        for found in page.get("channels") or []:
            if found.get("name") != name:
                continue
            ours = found.get("creator") == bot
            recent = float(found.get("created") or 0) >= incident.declared_at.timestamp() - 60
            taken = IncidentChannel.objects.filter(channel_id=found["id"]).exists()
            return str(found["id"]) if ours and recent and not taken else None
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return None


def _created(channel: IncidentChannel, channel_id: str, name: str) -> dict[str, Any]:
    now = timezone.now()
    with transaction.atomic():
        stored = IncidentChannel.objects.filter(pk=channel.pk, channel_id="").update(
            channel_id=channel_id, name=name, created_at=now
        )
        if stored:
            _wake_waiting(channel.incident_id, now=now)
    return {"channel_id": channel_id, "name": name}


def _wake_waiting(incident_id: int, *, now: datetime) -> None:
    """Rows of this incident that wait for its channel are due now, not at their next look."""
    keys = list(
        SlackCall.objects.filter(
            incident_id=incident_id,
            state=CallState.PENDING,
            last_error__startswith=WAITING_FOR_CHANNEL,
        ).values_list("key", flat=True)
    )
    if not keys:
        return
    SlackCall.objects.filter(key__in=keys, state=CallState.PENDING).update(due_at=now)
    transaction.on_commit(lambda: outbox.calls_dispatch_due(keys=keys), robust=True)


def topic_for(incident: Incident) -> str:
    commander = incident.commander.display_name if incident.commander else "nobody yet"
    status = Status(incident.status).label
    topic = f"{incident.ref} · {incident.severity.name} · {status} · Commander: {commander}"
    return topic[:TOPIC_MAX]


def _send_setup(call: SlackCall, client: WebClient) -> dict[str, Any]:
    channel = channel_for_call(call)
    channel_id = channel_ready(channel)
    incident = (
        Incident.objects.select_related("severity", "commander")
        .prefetch_related("participants")
        .get(pk=channel.incident_id)
    )
    topic = topic_for(incident)
    if topic != channel.topic:
        client.conversations_setTopic(channel=channel_id, topic=topic)
        IncidentChannel.objects.filter(pk=channel.pk).update(topic=topic)
    if not channel.bookmarked:
        client.bookmarks_add(
            channel_id=channel_id,
            title=f"{incident.ref} in Tocsin",
            type="link",
            link=blocks.incident_url(incident),
        )
        IncidentChannel.objects.filter(pk=channel.pk).update(bookmarked=True)
    # Invitations last: whatever becomes of them, the topic and bookmark are already set.
    wanted = _slack_ids(incident)
    bot = bot_user_id(client)
    to_invite = [user for user in wanted if user not in channel.invited and user != bot]
    not_invited = dict(call.result.get("not_invited") or {})
    if to_invite:
        refused = _invite(client, channel_id, to_invite)
        # Everyone asked is done with: invited, or refused for a reason asking again would
        # meet again (a deactivated account). The refusals are kept in the call's result.
        channel.invited = [*channel.invited, *to_invite]
        IncidentChannel.objects.filter(pk=channel.pk).update(invited=channel.invited)
        if refused:
            logger.warning("could not invite to %s: %s", channel_id, refused)
            not_invited.update(refused)
    return {"topic": topic, "invited": channel.invited, "not_invited": not_invited}


def _invite(client: WebClient, channel_id: str, users: list[str]) -> dict[str, str]:
    """Invite `users`; returns those Slack refused, with its reason. With force=true Slack
    invites the valid ones and lists the others; a call that fails over people anyway (one
    person, or a workspace that ignores force) is retried person by person. Errors about the
    call itself (rate limit, archived channel) are raised, for the outbox to retry."""
    try:
        answer = client.conversations_invite(channel=channel_id, users=users, force=True)
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        if code == "already_in_channel":
            return {}
        if code not in USER_INVITE_ERRORS:
            raise
        if len(users) == 1:
            return {users[0]: code}
        refused: dict[str, str] = {}
        for user in users:
            refused.update(_invite(client, channel_id, [user]))
        return refused
    return {
        str(entry.get("user")): str(entry.get("error"))
        for entry in answer.get("errors") or []
        if entry.get("error") != "already_in_channel"
    }


def _slack_ids(incident: Incident) -> list[str]:
    """Slack ids of the commander and the people paged for or taking part in the incident,
    commander first; people without a linked Slack account are left out."""
    user_ids = [incident.commander_id] if incident.commander_id else []
    user_ids += [user.pk for user in incident.participants.all() if user.pk not in user_ids]
    links = dict(
        SlackUserLink.objects.filter(user_id__in=user_ids).values_list("user_id", "slack_user_id")
    )
    return [links[pk] for pk in user_ids if pk in links]


def _send_archive(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    channel = channel_for_call(call)
    if channel.incident.status != Status.RESOLVED:
        raise Cancel("reopened before the channel was archived")
    if channel.archived_at is not None or not channel.channel_id:
        return None
    try:
        client.conversations_archive(channel=channel.channel_id)
    except SlackApiError as error:
        if error.response.get("error") != "already_archived":
            raise
    IncidentChannel.objects.filter(pk=channel.pk).update(
        archived_at=timezone.now(), archive_due_at=None
    )
    return {"archived": channel.channel_id}


def _send_unarchive(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    channel = channel_for_call(call)
    if channel.archived_at is None:
        return None
    try:
        client.conversations_unarchive(channel=channel.channel_id)
    except SlackApiError as error:
        if error.response.get("error") != "not_archived":
            raise
    now = timezone.now()
    with transaction.atomic():
        IncidentChannel.objects.filter(pk=channel.pk).update(archived_at=None)
        _wake_waiting(channel.incident_id, now=now)
    return {"unarchived": channel.channel_id}


def connect() -> None:
    outbox.register_sender(CREATE, _send_create)
    outbox.register_sender(SETUP, _send_setup)
    outbox.register_sender(ARCHIVE, _send_archive)
    outbox.register_sender(UNARCHIVE, _send_unarchive)
