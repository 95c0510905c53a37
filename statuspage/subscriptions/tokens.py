"""The links a subscriber is sent: a signed, expiring confirmation link, and an unsubscribe
link that carries the subscriber's own random token (it never expires: RFC 8058 asks that a
List-Unsubscribe URL keep working)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "statuspage.subscribe.confirm"


@dataclass(frozen=True)
class SignUp:
    """What a confirmation link confirms: the address, and everything (components None) or
    the codes of the components chosen."""

    address: str
    components: tuple[str, ...] | None


def confirmation_token(sign_up: SignUp) -> str:
    # The choice travels in the signed token, so a sign-up for an address already subscribed
    # changes nothing until the mailbox's owner confirms it.
    payload = {
        "a": sign_up.address,
        "c": None if sign_up.components is None else list(sign_up.components),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


class InvalidToken(Exception):
    """A confirmation link that was forged, altered, or has expired."""


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
    if not isinstance(address, str) or not (codes is None or isinstance(codes, list)):
        raise InvalidToken("This confirmation link is not valid.")
    return SignUp(address=address, components=None if codes is None else tuple(map(str, codes)))


def confirmation_url(sign_up: SignUp) -> str:
    path = reverse("statuspage:subscribe_confirm", kwargs={"token": confirmation_token(sign_up)})
    return settings.BASE_URL + path


def unsubscribe_url(token: str) -> str:
    return settings.BASE_URL + reverse("statuspage:unsubscribe", kwargs={"token": token})


def page_url(path: str = "") -> str:
    """An absolute URL on the public page: page_url("incidents/<code>/")."""
    # The page's root is where the app is mounted (config/urls.py), read off a URL of ours.
    root = reverse("statuspage:subscribe").removesuffix("subscribe/")
    return f"{settings.BASE_URL}{root}{path}"
