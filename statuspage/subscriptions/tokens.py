"""The links a subscriber is sent: a signed, expiring confirmation link, and an unsubscribe
link that carries the subscriber's own random token (it never expires: RFC 8058 asks that a
List-Unsubscribe URL keep working)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

SALT = "statuspage.subscribe.confirm"


@dataclass(frozen=True)
class SignUp:
    """What a confirmation link confirms: the address, and everything (components None) or
    the codes of the components chosen."""

    address: str
    components: tuple[str, ...] | None
    # When the link was sent (on the clock the subscriber's rows use): a link older than an
    # unsubscribe, or than the subscriber's row, confirms nothing.
    issued_at: datetime | None = None


def confirmation_token(sign_up: SignUp) -> str:
    # The choice travels in the signed token, so a sign-up for an address already subscribed
    # changes nothing until the mailbox's owner confirms it.
    issued_at = sign_up.issued_at or timezone.now()
    payload = {
        "a": sign_up.address,
        "c": None if sign_up.components is None else list(sign_up.components),
        "t": issued_at.isoformat(),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


class InvalidToken(Exception):
    """A confirmation link that was forged, altered, or has expired, or that an unsubscribe
    (or the subscriber's deletion) has made void."""


def confirmation_load(token: str) -> SignUp:
    max_age = timedelta(hours=settings.STATUSPAGE_CONFIRM_HOURS)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken("This confirmation link has expired.") from error
    except signing.BadSignature as error:
        raise InvalidToken("This confirmation link is not valid.") from error
    address = payload.get("a") if isinstance(payload, dict) else None
    codes = payload.get("c") if isinstance(payload, dict) else None
    issued = payload.get("t") if isinstance(payload, dict) else None
    if (
        not isinstance(address, str)
        or not (codes is None or isinstance(codes, list))
        or not isinstance(issued, str)
    ):
        raise InvalidToken("This confirmation link is not valid.")
    try:
        issued_at = datetime.fromisoformat(issued)
    except ValueError as error:
        raise InvalidToken("This confirmation link is not valid.") from error
    return SignUp(
        address=address,
        components=None if codes is None else tuple(map(str, codes)),
        issued_at=issued_at,
    )


def confirmation_url(sign_up: SignUp) -> str:
    path = reverse("statuspage:subscribe_confirm", kwargs={"token": confirmation_token(sign_up)})
    return settings.BASE_URL + path


def unsubscribe_url(token: str) -> str:
    return settings.BASE_URL + reverse("statuspage:unsubscribe", kwargs={"token": token})
