from django.db import transaction

from accounts.models import ApiToken, User, hash_token


@transaction.atomic
def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key is shown once and never stored."""
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(key), prefix=key[:12])
    return token, key
