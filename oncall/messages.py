"""What a notification says: subject, text and HTML bodies, links and the webhook payload."""

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from oncall.acklinks import ack_url
from oncall.models import ContactKind, Notification, NotificationKind
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
            method=method.kind,
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
        method=method.kind,
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
