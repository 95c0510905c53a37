"""Who is who: Tocsin users linked to their Slack accounts.

A link is made by email (`users.lookupByEmail`, in a task that runs from the chatops tick at
most every PEOPLE_SYNC_EVERY and on demand), or from Slack: `/incident link` answers its
typist with a signed link that expires, carrying their Slack user id, and the Tocsin user who
opens it and confirms is linked. Only Slack can vouch for a Slack user id, so nobody but an
admin links an id typed by hand. One Slack account links one Tocsin user and each user has at
most one Slack account. Acting from Slack is acting as the linked user, with that user's role.
"""

from __future__ import annotations

import logging
import re
import time

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from accounts.actors import SYSTEM, Actor, SystemActor
from accounts.models import User
from chatops.client import failure_from, slack_client, slack_configured
from chatops.models import SlackUserLink

logger = logging.getLogger(__name__)

SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
# users.lookupByEmail is Tier 3 (about 50 a minute): one sync asks for at most this many users,
# this far apart, and the next sync picks up where it stopped.
SYNC_BATCH = 40
SYNC_PACE_SECONDS = 0.5
PEOPLE_SYNC_EVERY = 15 * 60
# An address Slack does not know is asked again only after this long.
MISS_TTL = 60 * 60

Source = SlackUserLink.Source

# The signed link `/incident link` answers with: how long it works, and what it is signed for
# (a token for anything else does not pass here).
LINK_TOKEN_MAX_AGE = 10 * 60
LINK_TOKEN_SALT = "chatops.slack-link"  # noqa: S105 - a namespace, not a secret


def user_for_slack_id(slack_user_id: str) -> User | None:
    """The active Tocsin user this Slack account is linked to, or None."""
    if not slack_user_id:
        return None
    link = (
        SlackUserLink.objects.filter(slack_user_id=slack_user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    return link.user if link is not None else None


def slack_id_for_user(user: User) -> str | None:
    link = SlackUserLink.objects.filter(user=user).first()
    return link.slack_user_id if link is not None else None


def slack_link_get(user: User) -> SlackUserLink | None:
    return SlackUserLink.objects.filter(user=user).first()


def _require_may_change(actor: Actor, user: User) -> None:
    if isinstance(actor, SystemActor):
        return
    if not isinstance(actor, User):
        raise TypeError(f"actor must be a User or accounts.actors.SYSTEM, not {actor!r}.")
    if actor.pk != user.pk and not actor.is_admin:
        raise PermissionDenied("You may only change your own Slack link.")


def slack_link_set(
    *, user: User, slack_user_id: str, source: SlackUserLink.Source, actor: Actor
) -> SlackUserLink:
    """Link `user` to this Slack account, replacing any link they had.

    For admins and the system (the email sync): a Slack user id typed by anyone else is not
    proof of anything, so people link themselves with `slack_link_confirm`.
    Raises ValidationError for an id that is not a Slack member id or that is linked to
    someone else, PermissionDenied unless the actor is an admin or the system.
    """
    if isinstance(actor, User) and not actor.is_admin:
        raise PermissionDenied(
            "Link your Slack account from Slack: type /incident link there and open the link."
        )
    _require_may_change(actor, user)
    return _link(user=user, slack_user_id=slack_user_id, source=source)


def slack_link_token(slack_user_id: str) -> str:
    """What `/incident link` hands its typist: their Slack user id, signed (it works for
    LINK_TOKEN_MAX_AGE)."""
    return signing.dumps(slack_user_id, salt=LINK_TOKEN_SALT)


def slack_link_token_read(token: str) -> str:
    """The Slack user id a token from `slack_link_token` carries. ValidationError when it was
    altered, made for something else, or is older than LINK_TOKEN_MAX_AGE."""
    try:
        value = signing.loads(token, salt=LINK_TOKEN_SALT, max_age=LINK_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            "This link has expired. Type /incident link in Slack again for a new one."
        ) from None
    except signing.BadSignature:
        raise ValidationError(
            "This link is not one Tocsin made. Type /incident link in Slack for a new one."
        ) from None
    if not isinstance(value, str):
        raise ValidationError("This link is not one Tocsin made.")
    return value


def slack_link_confirm(*, user: User, token: str, actor: Actor) -> SlackUserLink:
    """Link `user` to the Slack account that asked for `token` (`/incident link`).

    Only the user themself confirms: opening the link is their proof of the Tocsin side, the
    signature Slack's. Raises ValidationError for a bad or expired token or a Slack account
    linked to someone else.
    """
    if not isinstance(actor, User) or actor.pk != user.pk:
        raise PermissionDenied("Only you can link your own Slack account.")
    slack_user_id = slack_link_token_read(token)
    return _link(user=user, slack_user_id=slack_user_id, source=Source.HAND)


def _link(*, user: User, slack_user_id: str, source: SlackUserLink.Source) -> SlackUserLink:
    slack_user_id = slack_user_id.strip().upper()
    if not SLACK_USER_ID.fullmatch(slack_user_id):
        raise ValidationError(
            {
                "slack_user_id": "A Slack member ID starts with U or W, like U012AB3CD "
                "(in Slack: your profile, ⋮, Copy member ID)."
            }
        )
    taken = ValidationError(
        {"slack_user_id": "That Slack account is already linked to another Tocsin user."}
    )
    if SlackUserLink.objects.filter(slack_user_id=slack_user_id).exclude(user=user).exists():
        raise taken
    try:
        with transaction.atomic():
            link, _ = SlackUserLink.objects.update_or_create(
                user=user,
                defaults={
                    "slack_user_id": slack_user_id,
                    "source": source,
                    "linked_at": timezone.now(),
                },
            )
    except IntegrityError:
        # Someone linked that Slack account between the check and the write.
        raise taken from None
    logger.info("Slack link: user %s is %s (%s)", user.pk, slack_user_id, source)
    return link


def slack_link_remove(*, user: User, actor: Actor) -> bool:
    """Unlink `user`'s Slack account; True if there was one.

    The next email sync does not link it again by itself for MISS_TTL: someone who unlinked
    by hand meant it, so the address is remembered as a miss.
    """
    _require_may_change(actor, user)
    removed, _ = SlackUserLink.objects.filter(user=user).delete()
    if removed and user.email:
        cache.set(_miss_key(user.email), True, MISS_TTL)
    return bool(removed)


def _miss_key(email: str) -> str:
    return f"chatops:slack-email-miss:{email.strip().lower()}"


def slack_links_sync(
    *, client: WebClient | None = None, limit: int = SYNC_BATCH, pace: float = SYNC_PACE_SECONDS
) -> int:
    """Link active users without a Slack link to the Slack account with their email.

    Runs in a task (it calls Slack). Stops at a rate limit or an outage; the next run goes on.
    Returns how many links it made.
    """
    if not slack_configured():
        return 0
    client = client or slack_client()
    candidates = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .exclude(pk__in=SlackUserLink.objects.values("user_id"))
        .order_by("pk")
    )
    linked = asked = 0
    for user in candidates.iterator():
        if asked >= limit:
            break
        if cache.get(_miss_key(user.email)):
            continue
        if asked and pace:
            time.sleep(pace)
        asked += 1
        slack_user_id = _lookup_by_email(client, user.email)
        if slack_user_id is None:
            cache.set(_miss_key(user.email), True, MISS_TTL)
            continue
        if slack_user_id == "":
            break
        try:
            slack_link_set(
                user=user, slack_user_id=slack_user_id, source=Source.EMAIL, actor=SYSTEM
            )
        except ValidationError:
            # Linked by hand to someone else: that choice stands.
            cache.set(_miss_key(user.email), True, MISS_TTL)
            continue
        linked += 1
    return linked


def _lookup_by_email(client: WebClient, email: str) -> str | None:
    """The Slack user id; None when Slack knows no such address; "" when Slack failed."""
    try:
        answer = client.users_lookupByEmail(email=email)
    except (SlackApiError, SlackClientError, OSError) as error:
        failure = failure_from(error)
        if failure.code in ("users_not_found", "user_not_found"):
            return None
        logger.warning("users.lookupByEmail failed, the sync stops here: %s", failure)
        return ""
    user = answer.get("user") or {}
    if user.get("deleted") or user.get("is_bot"):
        return None
    return str(user.get("id", "")) or None


def slack_links_sync_due() -> bool:
    """Whether the tick should start a sync now: at most once per PEOPLE_SYNC_EVERY."""
    return bool(cache.add("chatops:slack-links-sync", True, PEOPLE_SYNC_EVERY))
