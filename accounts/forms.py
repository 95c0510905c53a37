import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest


class LoginRateLimit:
    """Counts failed sign-ins per username and per client address in a fixed window.

    The window opens at the first failure and lasts settings.LOGIN_RATE_WINDOW seconds; once
    either count reaches settings.LOGIN_RATE_LIMIT, further attempts are refused unchecked.
    """

    def __init__(self, *, username: str, address: str) -> None:
        # Hashed, so whatever a client types as a username makes a safe, bounded cache key.
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        self.keys = [f"login-failures:user:{digest}", f"login-failures:address:{address}"]

    def exceeded(self) -> bool:
        counts = cache.get_many(self.keys).values()
        return any(count >= settings.LOGIN_RATE_LIMIT for count in counts)

    def record_failure(self) -> None:
        for key in self.keys:
            cache.add(key, 0, timeout=settings.LOGIN_RATE_WINDOW)
            try:
                cache.incr(key)
            except ValueError:
                # The window closed between add() and incr(): this failure opens a new one.
                cache.set(key, 1, timeout=settings.LOGIN_RATE_WINDOW)


def client_address(request: HttpRequest | None) -> str:
    """The address that counts for rate limiting.

    X-Forwarded-For is whatever the client says, except for the addresses our own proxies
    appended on the right; with settings.TRUSTED_PROXY_HOPS = N the N-th from the right is the
    one our outermost proxy saw. Anything further left could let an attacker pick a fresh
    address per attempt, so it is never read.
    """
    if request is None:
        return ""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    hops: int = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    # Fewer entries than proxies: the request bypassed one; count it against that address.
    return addresses[-hops] if len(addresses) >= hops else remote


class RateLimitedAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "rate_limited": ("Too many failed sign-in attempts. Wait a few minutes, then try again."),
    }

    def clean(self) -> dict[str, Any]:
        limit = LoginRateLimit(
            username=self.cleaned_data.get("username") or "",
            address=client_address(self.request),
        )
        if limit.exceeded():
            raise ValidationError(self.error_messages["rate_limited"], code="rate_limited")
        try:
            return super().clean()
        except ValidationError:
            limit.record_failure()
            raise

    @property
    def rate_limited(self) -> bool:
        return any(error.code == "rate_limited" for error in self.non_field_errors().as_data())
