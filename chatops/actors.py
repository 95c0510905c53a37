"""Who acts when someone clicks or types in Slack: the Tocsin user their Slack account is
linked to, and the words that tell them when it is not, or when a service refused."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import User
from chatops.services import people


def link_url() -> str:
    """Where a person links their Slack account to their Tocsin account (the profile page)."""
    return settings.BASE_URL + reverse("chatops:slack-profile")


def not_linked_text() -> str:
    return (
        "Your Slack account is not linked to a Tocsin account, so Tocsin cannot tell who you "
        f"are. Link it on your profile page: {link_url()} , then try again."
    )


def linked_user(slack_user_id: str) -> User | None:
    """The active Tocsin user behind a Slack user id, if they linked their accounts."""
    return people.user_for_slack_id(slack_user_id)


def refusal_text(error: Exception) -> str:
    """A service's refusal (a conflict, a permission, a validation error) as a sentence."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Tocsin refused that."
