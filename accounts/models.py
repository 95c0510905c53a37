import hashlib
import secrets
import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    RESPONDER = "responder", "Responder"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RESPONDER)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="IANA zone the UI shows times in; empty follows the browser.",
    )

    @property
    def effective_role(self) -> Role:
        """The role the user acts with: a superuser (createsuperuser leaves `role` at its
        default) is an admin whatever `role` says, as is_admin has it."""
        return Role.ADMIN if self.is_superuser else Role(self.role)

    def get_role_display(self) -> str:  # type: ignore[no-redef]
        # Defined here, Django does not generate its own, so every page says what is_admin does.
        return self.effective_role.label

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def can_respond(self) -> bool:
        return self.is_admin or self.role in {Role.RESPONDER, Role.MANAGER}

    @property
    def can_manage(self) -> bool:
        return self.is_admin or self.role == Role.MANAGER

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def hash_token(key: str) -> str:
    # Keys carry 256 bits of entropy, so a plain SHA-256 is enough and lets us look them up
    # by hash instead of comparing every stored key.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, kept in the clear so a user can tell tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate_key() -> str:
        return "tcs_" + secrets.token_urlsafe(32)
