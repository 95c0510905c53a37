"""Acknowledging from a page: the signed link, an SMS reply, a key pressed during a call."""

import logging
import re
from datetime import timedelta
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from incidents import services as incident_services
from incidents.models import Source, Status
from oncall.acklinks import notification_id_from_ack_token
from oncall.models import ContactKind, Notification, NotificationKind, NotificationState
from oncall.twilio_signature import twilio_signature_valid

logger = logging.getLogger(__name__)

# Answers to a page by SMS that mean "I've got it", as PagerDuty accepts them.
_ACK_WORDS = re.compile(r"^\s*(ack|acknowledge|a|1|ok)\b\s*(?:inc-?)?(\d+)?\s*$", re.IGNORECASE)
_SMS_REPLY_WINDOW = timedelta(hours=24)


def _acknowledge(notification: Notification) -> str:
    """Acknowledge the notification's incident as the person paged; returns what to tell them."""
    incident = notification.incident
    if incident is None:
        return "This page was not about an incident."
    if incident.status == Status.RESOLVED:
        return f"{incident.ref} is already resolved."
    if incident.acknowledged_at is not None:
        return f"{incident.ref} was already acknowledged."
    incident_services.incident_acknowledge(
        incident=incident, actor=notification.user, source=Source.PAGE
    )
    return f"Acknowledged {incident.ref}. Thank you."


@require_http_methods(["GET", "POST"])
def ack_link(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners and link previews fetch links, and must not
    # acknowledge on the recipient's behalf.
    notification_id = notification_id_from_ack_token(token)
    notification = (
        Notification.objects.select_related("incident__severity", "user")
        .filter(pk=notification_id, kind=NotificationKind.PAGE)
        .first()
        if notification_id is not None
        else None
    )
    if notification is None or notification.incident is None:
        return render(request, "oncall/ack.html", {"invalid": True}, status=404)
    context: dict[str, object] = {
        "notification": notification,
        "incident": notification.incident,
    }
    if request.method == "POST":
        try:
            context["done"] = _acknowledge(notification)
        except PermissionDenied as denied:
            return render(request, "oncall/ack.html", {**context, "error": str(denied)}, status=403)
    return render(request, "oncall/ack.html", context)


def _twiml(inner: str) -> HttpResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return HttpResponse(body, content_type="text/xml")


def _from_twilio(request: HttpRequest) -> bool:
    # Twilio signs the URL it called, which is ours as the world sees it (BASE_URL).
    return bool(settings.TWILIO_AUTH_TOKEN) and twilio_signature_valid(
        url=settings.BASE_URL + request.get_full_path(),
        params={key: request.POST.get(key, "") for key in request.POST},
        signature=request.headers.get("X-Twilio-Signature", ""),
        auth_token=settings.TWILIO_AUTH_TOKEN,
    )


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """A reply to an SMS page: "ack" acknowledges the latest open incident paged to the sender,
    "ack 42" incident INC-42."""
    if not _from_twilio(request):
        return HttpResponse("Invalid Twilio signature.", status=403, content_type="text/plain")
    sender = request.POST.get("From", "")
    match = _ACK_WORDS.match(request.POST.get("Body", ""))
    if not match:
        return _twiml("<Message>Reply ACK to acknowledge, or ACK and a number.</Message>")
    # Only pages this number actually received: a step still pending is not what they read.
    pages = Notification.objects.select_related("incident", "user").filter(
        kind=NotificationKind.PAGE,
        state=NotificationState.SENT,
        contact_method__kind=ContactKind.SMS,
        contact_method__address=sender,
        contact_method__verified_at__isnull=False,
        created_at__gte=timezone.now() - _SMS_REPLY_WINDOW,
    )
    if match.group(2):
        pages = pages.filter(incident__number=int(match.group(2)))
    else:
        pages = pages.filter(incident__acknowledged_at__isnull=True).exclude(
            incident__status=Status.RESOLVED
        )
    notification = pages.order_by("-sent_at", "-id").first()
    if notification is None:
        return _twiml("<Message>No open page to acknowledge.</Message>")
    try:
        reply = _acknowledge(notification)
    except PermissionDenied as denied:
        reply = str(denied)
    return _twiml(f"<Message>{escape(reply)}</Message>")


@csrf_exempt
@require_POST
def twilio_voice(request: HttpRequest, notification_id: int) -> HttpResponse:
    """The key pressed during a voice page (the call's <Gather> posts here)."""
    if not _from_twilio(request):
        return HttpResponse("Invalid Twilio signature.", status=403, content_type="text/plain")
    notification = (
        Notification.objects.select_related("incident", "user")
        .filter(pk=notification_id, kind=NotificationKind.PAGE, incident__isnull=False)
        .first()
    )
    if notification is None:
        return _twiml("<Say>This page is no longer known. Goodbye.</Say>")
    if request.POST.get("Digits") != "1":
        return _twiml("<Say>Not acknowledged. Goodbye.</Say>")
    try:
        reply = _acknowledge(notification)
    except PermissionDenied:
        reply = "You may not acknowledge this incident."
    return _twiml(f"<Say>{escape(reply)}</Say>")
