"""Outgoing webhook pages: a signed JSON POST to the contact method's URL."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from oncall.notifiers.base import Notifier, NotifierError, Page, parse_retry_after

SIGNATURE_VERSION = "v1"
# Statuses that say "later" rather than "never".
_TRANSIENT_4XX = frozenset({408, 425, 429})
# Enough of an error response to explain the failure in the delivery row.


class WebhookNotifier(Notifier):
    method = "webhook"

    def notify(self, page: Page) -> str:
        if urlsplit(page.address).scheme not in ("https", "http"):
            raise NotifierError(f"Webhook URL must be http(s): {page.address!r}", permanent=True)
        # Checked again at each send: the name may resolve elsewhere than when it was added.
        refused = destination_refused(page.address)
        if refused:
            raise NotifierError(refused, permanent=True)
        body = webhook_body(page)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tocsin",
            "X-Tocsin-Notification": str(page.notification_id),
            "X-Tocsin-Timestamp": timestamp,
        }
        if page.secret:
            headers["X-Tocsin-Signature"] = sign(page.secret, timestamp, body)
        try:
            # stream=True: only the status and headers matter; a huge or endless body is not read.
            response = requests.post(
                page.address,
                data=body.encode(),
                headers=headers,
                timeout=settings.NOTIFIER_TIMEOUT,
                # A redirect could point a signed page anywhere; the owner should fix the URL.
                allow_redirects=False,
                stream=True,
            )
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
        ) as error:
            raise NotifierError(f"Invalid webhook URL: {error}", permanent=True) from error
        except requests.RequestException as error:
            raise NotifierError(f"Webhook unreachable: {error!r}", permanent=False) from error
        with response:
            return _outcome(response)


def webhook_body(page: Page) -> str:
    document = {
        **page.payload,
        "notification_id": page.notification_id,
        "subject": page.subject,
        "text": page.text,
        "ack_url": page.ack_url,
        "incident_url": page.incident_url,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"))


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """The X-Tocsin-Signature value: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: str | bytes,
    header: str,
    *,
    now: float,
    tolerance: float = 300,
) -> bool:
    """Check a received page, as a receiver would: copy this function into your endpoint.

    timestamp and header are the X-Tocsin-Timestamp and X-Tocsin-Signature values, body the raw
    request body, now the receiver's clock (unix seconds). A timestamp more than tolerance
    seconds away from now is refused, so a captured request cannot be replayed later.
    """
    if not (secret and timestamp and header):
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance:
        return False
    # Self-contained (no call to sign()) so receivers can copy it as it stands.
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    expected = f"v1={digest.hexdigest()}"
    # Several comma-separated signatures let a sender roll its secret without a gap.
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in header.split(",")
    )


def _outcome(response: requests.Response) -> str:
    status = response.status_code
    if 200 <= status < 300:
        return response.headers.get("X-Request-Id", "")
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        raise NotifierError(
            f"Webhook answered {status} redirect to {location!r}; redirects are not followed",
            permanent=True,
        )
    # Only the status: the body could be anything the URL's owner points us at (an internal
    # service's answer), and this message is shown to the person and on the timeline.
    message = f"Webhook answered {status}"
    if status >= 500 or status in _TRANSIENT_4XX:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise NotifierError(message, permanent=False, retry_after=retry_after)
    raise NotifierError(message, permanent=True)


def destination_refused(url: str) -> str:
    """Why a page may not be posted to `url`, or "" when it may.

    A person's webhook must point outside: loopback, private, link-local and other
    non-public addresses would let anyone with an account make Tocsin call internal
    services (SSRF). WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED lifts this for development and
    tests, whose receivers listen on loopback.
    """
    if settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED:
        return ""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return f"Cannot resolve the webhook's host {host!r}."
    for address in addresses:
        if not ipaddress.ip_address(str(address).split("%")[0]).is_global:
            return f"The webhook's host {host!r} is not a public address."
    return ""
