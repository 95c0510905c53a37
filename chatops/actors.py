"""Who acts when someone clicks or types in Slack: the Tocsin user their Slack account is
linked to, and the words that tell them when it is not, or when a service refused."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import User
from chatops.models import SlackUserLink

# Where a person links their Slack account to their Tocsin account (the profile page).
LINK_PATH = "/me/slack/"


def link_url() -> str:
    return settings.BASE_URL + LINK_PATH


def not_linked_text() -> str:
    return (
        "Your Slack account is not linked to a Tocsin account, so Tocsin cannot tell who you "
        f"are. Link it on your profile page: {link_url()} , then try again."
    )


def linked_user(slack_user_id: str) -> User | None:
    """The active Tocsin user behind a Slack user id, if they linked their accounts."""
    if not slack_user_id:
        return None
    link = (
        SlackUserLink.objects.filter(slack_user_id=slack_user_id, user__is_active=True)
        .select_related("user")
        .first()
    )
    return link.user if link is not None else None


def refusal_text(error: Exception) -> str:
    """A service's refusal (a conflict, a permission, a validation error) as a sentence."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Tocsin refused that."
