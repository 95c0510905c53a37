"""Status-update reminders: when an open incident had no status update within its severity's
cadence, its channel is told, naming the commander.

`UpdateReminder` is the timer row (one per open incident). Declaring starts the wait, a status
update or a severity change restarts it, resolving ends it and reopening starts it again. The
beat tick claims due rows (`reminders_send_due`) and, in the same transaction, moves them on by
the cadence and adds the outbox row that posts the reminder, keyed by the due time it fired
for: two beats claiming at once send one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, Max, OuterRef, Subquery, Value
from django.utils import timezone
from slack_sdk import WebClient

from accounts.actors import Actor
from accounts.models import User
from chatops import blocks, interactions
from chatops.client import slack_configured
from chatops.models import IncidentChannel, SlackCall, UpdateReminder
from chatops.services import channels, people
from chatops.services.outbox import Cancel, NotReady, call_add
from incidents.models import (
    OPEN_STATUSES,
    EventKind,
    Incident,
    Severity,
    StatusUpdate,
    TimelineEvent,
)

logger = logging.getLogger(__name__)

KIND = "reminder"
SNOOZE = timedelta(minutes=30)


def _waiting_since(incident: Incident, reminder: UpdateReminder | None) -> datetime:
    """When the current wait for an update began: the declaration, the last update, the last
    reopening or the last reminder, whichever came last."""
    last_update = StatusUpdate.objects.filter(incident=incident).aggregate(at=Max("posted_at"))
    last_reopen = TimelineEvent.objects.filter(
        incident=incident, kind=EventKind.REOPENED
    ).aggregate(at=Max("occurred_at"))
    moments: list[datetime | None] = [incident.declared_at, last_update["at"], last_reopen["at"]]
    if reminder is not None:
        moments.append(reminder.last_sent_at)
    return max(moment for moment in moments if moment is not None)


def reminder_schedule(*, incident_id: int, keep_snooze: bool = True) -> UpdateReminder | None:
    """(Re)start the wait for the incident's next status update with its severity's cadence.

    `keep_snooze=False` when an update was just posted: the snooze was waiting for it.
    """
    with transaction.atomic():
        incident = Incident.objects.select_related("severity").filter(pk=incident_id).first()
        if incident is None or not incident.is_open:
            UpdateReminder.objects.filter(incident_id=incident_id).delete()
            return None
        reminder = UpdateReminder.objects.select_for_update().filter(incident=incident).first()
        due_at = _waiting_since(incident, reminder) + incident.severity.update_cadence
        snoozed_until = reminder.snoozed_until if reminder is not None and keep_snooze else None
        if snoozed_until is not None and snoozed_until > due_at:
            due_at = snoozed_until
        if reminder is None:
            reminder, _ = UpdateReminder.objects.update_or_create(
                incident=incident, defaults={"due_at": due_at, "snoozed_until": snoozed_until}
            )
            return reminder
        reminder.due_at = due_at
        reminder.snoozed_until = snoozed_until
        reminder.save(update_fields=["due_at", "snoozed_until"])
        return reminder


def reminder_stop(*, incident_id: int) -> None:
    UpdateReminder.objects.filter(incident_id=incident_id).delete()


def reminder_snooze(*, incident: Incident, actor: Actor, now: datetime | None = None) -> datetime:
    """Hold the incident's next reminder off for SNOOZE. The caller checked `actor` may respond."""
    now = now or timezone.now()
    until = now + SNOOZE
    with transaction.atomic():
        updated = UpdateReminder.objects.filter(incident=incident).update(
            due_at=until, snoozed_until=until
        )
        if not updated and incident.is_open:
            UpdateReminder.objects.create(incident=incident, due_at=until, snoozed_until=until)
    logger.info("%s snoozed the update reminder of %s until %s", actor, incident.ref, until)
    return until


def reminders_send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """The beat's work: post the reminders that are due. Returns how many were sent."""
    if not slack_configured():
        # Left due: when a token is set the overdue reminders go out, once each.
        return 0
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            UpdateReminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(due_at__lte=now, incident__status__in=OPEN_STATUSES)
            .order_by("due_at")
            .values_list("pk", "incident_id", "due_at")[:limit]
        )
        for _, incident_id, due_at in due:
            call_add(
                kind=KIND,
                key=f"reminder:{incident_id}:{due_at.isoformat()}",
                incident_id=incident_id,
                payload={"due_at": due_at.isoformat()},
            )
        cadence = Severity.objects.filter(incidents=OuterRef("incident_id")).values(
            "update_cadence"
        )[:1]
        UpdateReminder.objects.filter(pk__in=[pk for pk, _, _ in due]).update(
            # From now, not from the old due time: a tick that ran late must not owe a burst.
            due_at=ExpressionWrapper(Value(now) + Subquery(cadence), output_field=DateTimeField()),
            last_sent_at=now,
            snoozed_until=None,
        )
    return len(due)


def send_reminder(call: SlackCall, client: WebClient) -> dict[str, Any] | None:
    if call.incident_id is None:
        raise Cancel("a reminder without an incident")
    incident = (
        Incident.objects.select_related("severity", "commander").filter(pk=call.incident_id).first()
    )
    if incident is None or not incident.is_open:
        raise Cancel("the incident is resolved")
    if StatusUpdate.objects.filter(incident=incident, posted_at__gt=call.created_at).exists():
        raise Cancel("a status update was posted meanwhile")
    channel = IncidentChannel.objects.select_related("incident").filter(incident=incident).first()
    if channel is None:
        # Every incident gets its channel row on declaration; this one's is still coming.
        raise NotReady("waiting for the incident's channel", wait=10)
    channel_id = channels.channel_ready(channel)
    message = reminder_message(incident, commander=_mention(incident.commander))
    response = client.chat_postMessage(channel=channel_id, **message)
    return {"channel": response.get("channel"), "ts": response.get("ts")}


def _mention(user: User | None) -> str:
    if user is None:
        return ""
    slack_user_id = people.slack_id_for_user(user)
    return f"<@{slack_user_id}>" if slack_user_id else blocks.escape(user.display_name)


def _ago(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 1)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def reminder_message(incident: Incident, *, commander: str) -> dict[str, Any]:
    """The reminder, as chat.postMessage takes it (text and blocks)."""
    now = timezone.now()
    last = StatusUpdate.objects.filter(incident=incident).order_by("-posted_at").first()
    if last is not None:
        what = f"The last status update on {incident.ref} was {_ago(now - last.posted_at)} ago."
    else:
        what = (
            f"No status update has been posted on {incident.ref} since it was declared "
            f"{_ago(now - incident.declared_at)} ago."
        )
    cadence = _ago(incident.severity.update_cadence)
    who = (
        f"{commander} (commander), please post one"
        if commander
        else "No commander assigned: whoever leads, please post one"
    )
    text = f"{what} {incident.severity.name} expects one every {cadence}. {who}."
    value = str(incident.number)
    return {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "block_id": "reminder",
                "text": blocks.mrkdwn(
                    f":bell: {text}\n{blocks.link(blocks.incident_url(incident), incident.ref)}"
                ),
            },
            {
                "type": "actions",
                "block_id": "reminder_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": interactions.REMINDER_POST_UPDATE,
                        "text": {"type": "plain_text", "text": "Post update"},
                        "style": "primary",
                        "value": value,
                    },
                    {
                        "type": "button",
                        "action_id": interactions.REMINDER_SNOOZE,
                        "text": {"type": "plain_text", "text": "Snooze 30 min"},
                        "value": value,
                    },
                ],
            },
        ],
    }
