"""SMS and voice pages through Twilio's REST API (or any service speaking it at TWILIO_API_URL)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

import requests
from django.conf import settings
from django.urls import reverse

from oncall.models import ContactKind
from oncall.notifiers.base import Notifier, NotifierError, Page, parse_retry_after, truncate

# Twilio concatenates longer bodies into at most this many characters.
SMS_MAX_CHARS = 1600
# Twilio accepts up to 4,000 characters of inline TwiML; what we read twice stays far below.
_SPOKEN_MAX_CHARS = 500

# Error codes that say this number, or our account, will keep failing however often we retry.
PERMANENT_ERROR_CODES = frozenset(
    {
        20003,  # authentication failed
        21211,  # invalid 'To' number
        21408,  # sending to this region is not enabled on the account
        21610,  # the recipient replied STOP
        21614,  # 'To' is not a mobile number
    }
)
# A 4xx without one of the codes above is still our request's fault, except 408/409/429 and the
# like, which the catch-all below treats as transient.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404})


class SmsNotifier(Notifier):
    method = ContactKind.SMS

    def notify(self, page: Page) -> str:
        return _create("Messages", {"To": page.address, "Body": sms_body(page)})


class VoiceNotifier(Notifier):
    method = ContactKind.VOICE

    def notify(self, page: Page) -> str:
        return _create("Calls", {"To": page.address, "Twiml": voice_twiml(page)})


def sms_body(page: Page) -> str:
    """The subject and the ack link; the subject is shortened so the link always arrives whole.

    The text is left out: an SMS page is a pointer to the incident, and long bodies split into
    many billed segments. Without an ack link (test and verification messages) the text is sent.
    """
    if not page.ack_url:
        return truncate(f"{page.subject}\n{page.text}".strip(), SMS_MAX_CHARS)
    link = f"\nAck: {page.ack_url}"
    return truncate(page.subject, SMS_MAX_CHARS - len(link)) + link


def voice_twiml(page: Page) -> str:
    """Read the subject twice, then offer "press 1" when there is something to acknowledge.

    Without an ack link (test and verification calls) the text is read too: it carries the
    verification code.
    """
    words = page.subject if page.ack_url else f"{page.subject}. {page.text}".strip(" .")
    spoken = escape(truncate(words, _SPOKEN_MAX_CHARS))
    parts = ["<Response>", f"<Say>{spoken}</Say>", '<Pause length="1"/>', f"<Say>{spoken}</Say>"]
    if page.ack_url:
        voice = reverse("oncall:twilio-voice", kwargs={"notification_id": page.notification_id})
        action = quoteattr(f"{settings.BASE_URL}{voice}")
        parts += [
            f'<Gather numDigits="1" action={action} method="POST" timeout="10">',
            "<Say>Press 1 to acknowledge.</Say>",
            "</Gather>",
            # Reached only when nothing was pressed: the call ends unacknowledged.
            "<Say>Not acknowledged. Goodbye.</Say>",
        ]
    parts.append("</Response>")
    return "".join(parts)


def _create(resource: str, form: dict[str, str]) -> str:
    """POST to the account's Messages.json or Calls.json; return the new resource's sid."""
    sid, token, from_number = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_FROM_NUMBER,
    )
    if not (sid and token and from_number):
        raise NotifierError(
            "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
            "TWILIO_FROM_NUMBER",
            permanent=True,
            misconfigured=True,
        )
    url = f"{settings.TWILIO_API_URL}/2010-04-01/Accounts/{sid}/{resource}.json"
    try:
        response = requests.post(
            url,
            data={**form, "From": from_number},
            auth=(sid, token),
            headers={"Accept": "application/json"},
            timeout=settings.NOTIFIER_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        # Timeouts, refused connections, TLS failures: the provider, not the number.
        raise NotifierError(f"Twilio unreachable: {error!r}", permanent=False) from error
    body = _json(response)
    if response.status_code in (200, 201) and isinstance(body.get("sid"), str):
        return str(body["sid"])
    raise _error(response, body)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(response: requests.Response, body: dict[str, Any]) -> NotifierError:
    status = response.status_code
    code = body.get("code")
    detail = body.get("message") or response.reason
    message = f"Twilio {status}" + (f" error {code}" if code else "") + f": {detail}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if 400 <= status < 500 and status != 429:
        permanent = code in PERMANENT_ERROR_CODES or status in PERMANENT_STATUSES
        # Our account's credentials, not the recipient's number.
        misconfigured = code == 20003 or status == 401
        return NotifierError(
            message, permanent=permanent, retry_after=retry_after, misconfigured=misconfigured
        )
    # 429, 5xx, and a 2xx/3xx without a sid (a proxy's page, a half-compatible provider).
    return NotifierError(message, permanent=False, retry_after=retry_after)
