"""What the audit trail records: configuration, never secrets.

Each model is registered with django-auditlog, whose signals write an entry (who, when, what,
each field before and after) in the transaction of the change. Fields that hold a secret, or
a hash of one, are left out; so is state the system keeps for itself (a token's last use, an
integration's current storm incident, a verification in progress), which is no configuration.

Signals are all django-auditlog sees: QuerySet.update(), bulk_create() and raw SQL on these
models write no entry, so their services save rows one by one.
"""

import re
from typing import Any
from urllib.parse import urlsplit

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.db.models import Model

from accounts.models import ApiToken, User
from alerts.models import Integration
from chatops.models import SlackUserLink, TeamChannel
from incidents.models import Service, Severity, Team
from oncall.models import (
    CalendarFeed,
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
from postmortems.models import ContributingFactor, PostmortemPolicy, PostmortemTemplate
from statuspage.models import Component, ComponentGroup, Maintenance
from statuspage.models_subscribers import Subscriber, SubscriberKind

MASKED_AS = "audit.tracked.secret_mask"


def secret_mask(value: str) -> str:
    """What the trail records of a masked field's value; auditlog passes None as "None"."""
    return "" if value in ("", "None") else "(secret)"


# Model → auditlog.register options. Of a person only what grants access is configuration.
TRACKED: dict[type[Model], dict[str, Any]] = {
    User: {"include_fields": ["username", "role", "is_active", "is_staff", "is_superuser"]},
    ApiToken: {"exclude_fields": ["key_hash", "last_used_at"]},
    # Its members and leads: audit.team_people.
    Team: {},
    Service: {},
    Severity: {},
    Integration: {"exclude_fields": ["token_hash", "storm_incident"]},
    # The secret of an iCal URL is no configuration, but replacing it cuts off every subscribed
    # calendar: the trail says it was rotated, never what it is (MASKED_AS).
    Schedule: {"mask_fields": ["feed_token"], "mask_callable": MASKED_AS},
    CalendarFeed: {"mask_fields": ["token"], "mask_callable": MASKED_AS},
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
    # Who acts as whom from Slack, and where a team hears of its SEV3s.
    SlackUserLink: {},
    TeamChannel: {},
    # What resolving asks of each severity, the template every draft starts from, and the
    # vocabulary of causes the monthly report counts.
    PostmortemPolicy: {},
    PostmortemTemplate: {"exclude_fields": ["updated_at"]},
    ContributingFactor: {},
    # What the public status page shows and how. A component's state and its spans are the
    # page's own record of incidents, not configuration; components_sync makes a component
    # for every public service (the service's change is the entry). A `code` is the public id
    # the page and its API give a row, made once and never edited.
    ComponentGroup: {"exclude_fields": ["code", "updated_at"]},
    Component: {
        "include_fields": [
            "service",
            "public_name",
            "description",
            "group",
            "position",
            "hosted_component_id",
        ]
    },
    Maintenance: {"exclude_fields": ["code", "updated_at"], "m2m_fields": {"components"}},
    # Webhook subscribers only (tracked_subscriber): staff add them, and they receive every
    # public update. An email subscriber is a member of the public, not configuration. The
    # signing secret and the unsubscribe token are left out, as is the failure count the
    # delivery keeps for itself.
    Subscriber: {
        "include_fields": [
            "kind",
            "address",
            "all_components",
            "created_at",
            "confirmed_at",
            "unsubscribed_at",
            "disabled_at",
        ]
    },
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
    pre_log.connect(tracked_subscriber, sender=Subscriber, dispatch_uid="audit.tracked_subscriber")


def tracked_subscriber(sender: type[Subscriber], instance: Subscriber, **kwargs: Any) -> bool:
    """pre_log of Subscriber: False (no entry) for an email subscriber."""
    return instance.kind == SubscriberKind.WEBHOOK


# A webhook's address often carries its credential (Slack's incoming webhooks put it in the
# path, some put it in the query or the user part), so the trail keeps its origin only.
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def _origin(match: re.Match[str]) -> str:
    try:
        parts = urlsplit(match[0])
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(a URL)"
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


def origin_only(value: Any) -> Any:
    return _URL.sub(_origin, value) if isinstance(value, str) else value


def _redacted(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return origin_only(value)


def redact_addresses(sender: type[LogEntry], instance: LogEntry, **kwargs: Any) -> None:
    """pre_save of LogEntry: every URL is recorded as its origin, in whatever entry it shows
    up: a contact method's address, a rule naming its method, a provider's error text."""
    instance.object_repr = origin_only(instance.object_repr)
    instance.changes_text = origin_only(instance.changes_text)
    instance.changes = _redacted(instance.changes)
    instance.serialized_data = _redacted(instance.serialized_data)
    instance.additional_data = _redacted(instance.additional_data)


def mark_rotations(sender: type[LogEntry], instance: LogEntry, **kwargs: Any) -> None:
    """pre_save of LogEntry: a masked secret that changed reads as rotated, not as
    "(secret) → (secret)"."""
    if instance.action != LogEntry.Action.UPDATE or not isinstance(instance.changes, dict):
        return
    model = instance.content_type.model_class()
    for name in auditlog.get_model_fields(model)["mask_fields"] if model in TRACKED else []:
        if name in instance.changes:
            instance.changes[name] = ["(secret)", "(rotated)"]
