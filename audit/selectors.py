"""Reads of the audit trail: managers and admins only."""

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateTimeField, QuerySet

from accounts.models import User
from audit.tracked import TYPE_KEYS
from incidents.permissions import Action, require

ACTIONS = {
    LogEntry.Action.CREATE: "create",
    LogEntry.Action.UPDATE: "update",
    LogEntry.Action.DELETE: "delete",
}
# What an entry of another action (auditlog's "access", which nothing here writes) reads as.
OTHER_ACTION = "other"


@dataclass(frozen=True)
class AuditFilters:
    type: str = ""  # a key of TYPE_KEYS, e.g. "oncall.schedule"; empty: every kind
    actor_pk: int | None = None
    username: str = ""
    system: bool = False  # only what Tocsin did itself
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def entry_list(*, user: User, filters: AuditFilters) -> QuerySet[LogEntry]:
    """Newest first. Raises PermissionDenied for anyone but managers and admins."""
    require(user, Action.READ_AUDIT)
    entries: QuerySet[LogEntry] = LogEntry.objects.select_related("actor", "content_type")
    entries = entries.order_by("-timestamp", "-pk")
    if filters.type:
        entries = entries.filter(
            content_type=ContentType.objects.get_for_model(TYPE_KEYS[filters.type])
        )
    if filters.actor_pk is not None:
        entries = entries.filter(actor_id=filters.actor_pk)
    if filters.username:
        entries = entries.filter(actor__username=filters.username)
    if filters.system:
        # Entries of a person deleted since keep their address; Tocsin's have none.
        entries = entries.filter(actor__isnull=True, actor_email__isnull=True)
    if filters.since is not None:
        entries = entries.filter(timestamp__gte=filters.since)
    if filters.until is not None:
        entries = entries.filter(timestamp__lt=filters.until)
    return entries


@dataclass(frozen=True)
class Change:
    """One field of an entry: its value before and after, or the rows added to or removed
    from a many-to-many field (a team's members)."""

    field: str
    label: str
    before: Any = None
    after: Any = None
    added: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)

    @property
    def many(self) -> bool:
        return bool(self.added or self.removed)


def changes_of(entry: LogEntry) -> list[Change]:
    """The entry's changes in field order; times as aware datetimes (stored as UTC text)."""
    model = entry.content_type.model_class()
    recorded: dict[str, Any] = entry.changes or {}
    changes = []
    for name, value in recorded.items():
        label = name
        is_time = False
        if model is not None:
            try:
                model_field = model._meta.get_field(name)
            except FieldDoesNotExist:
                pass
            else:
                label = str(getattr(model_field, "verbose_name", name))
                is_time = isinstance(model_field, DateTimeField)
        if isinstance(value, dict) and value.get("type") == "m2m":
            objects = [str(item) for item in value.get("objects", [])]
            added, removed = (objects, []) if value.get("operation") == "add" else ([], objects)
            changes.append(Change(field=name, label=label, added=added, removed=removed))
            continue
        before, after = value if isinstance(value, list) and len(value) == 2 else (None, value)
        if before in (None, "") and after in (None, ""):
            continue  # a blank column of a new or deleted row: nothing to read
        if is_time:
            before, after = _time(before), _time(after)
        changes.append(Change(field=name, label=label, before=before, after=after))
    if model is not None:
        order = {f.name: i for i, f in enumerate(model._meta.get_fields())}
        changes.sort(key=lambda change: order.get(change.field, len(order)))
    return changes


def _time(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
