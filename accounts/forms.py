from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.models import User

RATE_LIMITED = "Too many failed sign-in attempts. Wait a few minutes, then try again."


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Says so when a sign-in was refused for too many failures (accounts.lockout), rather
    than calling the password wrong: the right one is refused too until the lock ends."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            # Set by django-axes during authenticate(): refused unchecked, or this failure
            # reached the limit.
            if getattr(self.request, "axes_locked_out", False):
                raise ValidationError(RATE_LIMITED, code="rate_limited") from None
            raise

    @property
    def rate_limited(self) -> bool:
        return any(error.code == "rate_limited" for error in self.non_field_errors().as_data())


class RateLimitedAdminAuthenticationForm(RateLimitedAuthenticationForm, AdminAuthenticationForm):
    """The admin's sign-in (staff only), with the same message for a lock."""


class PersonChoiceField(forms.ModelChoiceField[User]):
    """People are named by display_name in pickers, as everywhere else, not by username."""

    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class PeopleChoiceField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name
