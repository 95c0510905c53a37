"""What the audit trail records: configuration, never secrets.

Each model is registered with django-auditlog, whose signals write an entry (who, when, what,
each field before and after) in the transaction of the change. Fields that hold a secret, or
a hash of one, are left out; so is state the system keeps for itself (a token's last use, an
integration's current storm incident, a verification in progress), which is no configuration.

Signals are all django-auditlog sees: QuerySet.update(), bulk_create() and raw SQL on these
models write no entry, so their services save rows one by one.
"""

from typing import Any

from auditlog.registry import auditlog
from django.db.models import Model

from accounts.models import ApiToken, User
from alerts.models import Integration
from incidents.models import Service, Severity, Team
from oncall.models import (
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LayerParticipant,
    NotificationRule,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)

# Model → auditlog.register options. Of a person only what grants access is configuration.
TRACKED: dict[type[Model], dict[str, Any]] = {
    User: {"include_fields": ["username", "role", "is_active", "is_staff", "is_superuser"]},
    ApiToken: {"exclude_fields": ["key_hash", "last_used_at"]},
    # Its members and leads: audit.team_people.
    Team: {},
    Service: {},
    Severity: {},
    Integration: {"exclude_fields": ["token_hash", "storm_incident"]},
    Schedule: {"exclude_fields": ["feed_token"]},
    ScheduleLayer: {},
    LayerParticipant: {},
    ScheduleOverride: {},
    EscalationPolicy: {},
    EscalationLevel: {},
    EscalationTarget: {},
    ContactMethod: {
        "exclude_fields": [
            "secret",
            "verification_code_hash",
            "verification_expires_at",
            "verification_attempts",
        ]
    },
    NotificationRule: {},
}


def type_key(model: type[Model]) -> str:
    """How the page and the API name a kind of object: `oncall.schedule`."""
    return f"{model._meta.app_label}.{model._meta.model_name}"


TYPE_KEYS: dict[str, type[Model]] = {type_key(model): model for model in TRACKED}


def register() -> None:
    for model, options in TRACKED.items():
        # The model's own columns only: auditlog would otherwise list every reverse relation
        # of a new or deleted row ("services: None"). The primary key is the entry's object id.
        columns = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        options = {"include_fields": columns, **options}
        auditlog.register(model, **options)
