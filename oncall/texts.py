"""What a notification says: subject, text and HTML bodies, links and the webhook payload."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.actors import Actor
from oncall.acklinks import ack_url
from oncall.models import ContactKind, Notification, NotificationKind, ScheduleOverride
from oncall.notifiers import Page


def page_for(notification: Notification) -> Page:
    """Caller selected `incident__severity`, `incident__team`, `contact_method` and `user`."""
    method = notification.contact_method
    incident = notification.incident
    if notification.kind != NotificationKind.PAGE or incident is None:
        subject = {
            NotificationKind.VERIFICATION: "Your Tocsin verification code",
            NotificationKind.TEST: "Tocsin test page",
        }.get(NotificationKind(notification.kind), "A message from Tocsin")
        return Page(
            notification_id=notification.pk,
            method=ContactKind(method.kind),
            address=method.address,
            subject=subject,
            text=notification.body,
            secret=method.secret,
            payload={"event": notification.kind, "message": notification.body},
        )
    incident_url = settings.BASE_URL + incident.get_absolute_url()
    link = ack_url(notification.pk)
    subject = f"[{incident.severity.name}] {incident.ref} {incident.title}"
    context: dict[str, Any] = {
        "incident": incident,
        "notification": notification,
        "incident_url": incident_url,
        "ack_url": link,
        "subject": subject,
    }
    text = render_to_string("oncall/email/page.txt", context).strip()
    html = ""
    if method.kind == ContactKind.EMAIL:
        html = render_to_string("oncall/email/page.html", context)
    return Page(
        notification_id=notification.pk,
        method=ContactKind(method.kind),
        address=method.address,
        subject=subject,
        text=text,
        html=html,
        ack_url=link,
        incident_url=incident_url,
        secret=method.secret,
        payload={
            "event": "incident.page",
            "incident": {
                "ref": incident.ref,
                "number": incident.number,
                "title": incident.title,
                "severity": incident.severity.name,
                "status": incident.status,
                "team": incident.team.name if incident.team else None,
                "declared_at": incident.declared_at.isoformat(),
            },
        },
    )


def override_notice(override: ScheduleOverride, *, recipient_id: int, actor: Actor) -> str:
    """What a person is told when an override changes their on-call time: `recipient_id` is
    the person put on call or one of those whose time it takes. Caller selected
    `schedule__team` and `user`."""
    schedule = override.schedule
    zone = ZoneInfo(schedule.time_zone)

    def when(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M")

    where = f"{schedule.team.name} / {schedule.name}"
    span = f"from {when(override.start)} to {when(override.end)} ({schedule.time_zone})"
    if recipient_id == override.user_id:
        change = f"You are on call on {where} {span}: {actor.display_name} added an override."
    else:
        change = (
            f"{override.user.display_name} is on call in your place on {where} {span}: "
            f"{actor.display_name} added an override."
        )
    note = f' Note: "{override.note}".' if override.note else ""
    url = settings.BASE_URL + reverse("oncall:schedule-detail", kwargs={"pk": schedule.pk})
    return f"{change}{note} See the schedule: {url}"
