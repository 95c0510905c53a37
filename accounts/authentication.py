from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.authentication import TokenScheme
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User, hash_token

# How stale ApiToken.last_used_at may get before a request refreshes it.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, keys stored as SHA-256 hashes."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Token contains invalid characters.") from exc
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or inactive token.")
        now = timezone.now()
        # A write per request would put a row lock on every GET; a minute's precision is enough.
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class ApiTokenScheme(TokenScheme):  # type: ignore[no-untyped-call]
    """Documents `Authorization: Token <key>` in the schema; drf-spectacular finds it by
    subclassing, which it sees because DRF imports this module for its authentication classes."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"
    priority = 0
