"""Sign-in lockout: which address a request comes from, and when a sign-in is refused unchecked.

django-axes does the bookkeeping (settings: the sign-in lockout block of config/settings/web.py).
Its signal handler records each failed authenticate() in the database, one AccessAttempt row per
username, address and user agent; its backend, first in AUTHENTICATION_BACKENDS, refuses a
locked sign-in before any password is checked. Every path that signs in with a password goes
through authenticate() (the sign-in page, the admin's, any added later), so none escapes the
count.

What is locked:
- a (username, address) pair after settings.LOGIN_RATE_LIMIT failures: guessing one person's
  password is stopped, and nobody elsewhere can lock that person out;
- an address after settings.LOGIN_ADDRESS_RATE_LIMIT failures whatever the usernames: one
  address cannot try every account.
Both last settings.LOGIN_RATE_WINDOW seconds from the latest counted failure. The database
holds the counts: a sign-in never depends on Redis.
"""

import ipaddress
from datetime import timedelta
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def _address(value: str) -> str:
    """`value` when it is an IP address, else "" (a proxy's odd entry, a unix socket's peer)."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def client_address(request: HttpRequest | None) -> str:
    """The address that counts for rate limiting; "" when none can be told.

    X-Forwarded-For is whatever the client says, except for the addresses our own proxies
    appended on the right; with settings.TRUSTED_PROXY_HOPS = N the N-th from the right is the
    one our outermost proxy saw. Anything further left could let an attacker pick a fresh
    address per attempt, so it is never read.
    """
    if request is None:
        return ""
    remote = _address(str(request.META.get("REMOTE_ADDR", "")))
    hops: int = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    # Fewer entries than proxies: the request bypassed one; count it against that address.
    if len(addresses) < hops:
        return remote
    return _address(addresses[-hops]) or remote


# The block an IPv6 client holds: one connection gets a /64, and could take a fresh address
# from it for every attempt.
IPV6_CLIENT_PREFIX = 64


def lockout_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's address, or for IPv6 its /64's first address.
    The attempts table stores addresses as such (PostgreSQL inet), so an unknown one is NULL;
    such requests share one address ceiling."""
    address = client_address(request)
    if not address:
        return None
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False).network_address)
    return address


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None) -> int:
    """AXES_FAILURE_LIMIT, read when used so that settings changed at run time apply."""
    limit: int = settings.LOGIN_RATE_LIMIT
    return limit


def lockout_window(request: HttpRequest | None) -> timedelta:
    """AXES_COOLOFF_TIME, read when used."""
    return timedelta(seconds=settings.LOGIN_RATE_WINDOW)


class SignInLockout(AxesDatabaseHandler):  # type: ignore[misc]
    """Axes' database handler, with a ceiling on the failures from one address.

    Axes locks by the (username, address) pair alone (AXES_LOCKOUT_PARAMETERS); it has one
    failure limit for every parameter, and an address must be allowed many more failures than
    a pair (an office behind one NAT address), so the address ceiling is counted here.
    """

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        failures = AccessAttempt.objects.filter(
            ip_address=getattr(request, "axes_ip_address", None),
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(total=Sum("failures_since_start"))["total"]
        ceiling: int = settings.LOGIN_ADDRESS_RATE_LIMIT
        return (failures or 0) >= ceiling
