"""Signed one-click acknowledge links for pages sent by email and SMS.

The token names the notification, so it says who was paged for which incident; it is signed
with SECRET_KEY (not forgeable) and expires, so an old email cannot acknowledge a later page.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

ACK_LINK_MAX_AGE = timedelta(hours=24)
_SALT = "oncall.ack-link"


def ack_token(notification_id: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(notification_id))


def notification_id_from_ack_token(token: str) -> int | None:
    """The notification id, or None when the token is forged, altered or expired."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=ACK_LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def ack_url(notification_id: int) -> str:
    return settings.BASE_URL + reverse("oncall:ack", kwargs={"token": ack_token(notification_id)})
