from datetime import UTC, datetime
from typing import Any

from auditlog.models import LogEntry
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from audit import selectors
from audit.actors import actor_name
from audit.tracked import TYPE_KEYS
from ops.timestamps import ViewerDateTimeField


class _EmptyIsGiven:
    """DRF reads an empty query parameter (`?until=`) as absent; the schema calls it invalid,
    so it is given, and refused."""

    field_name: str | None

    def get_value(self, dictionary: Any) -> Any:
        if isinstance(dictionary, QueryDict) and dictionary.get(self.field_name or "") == "":
            return ""
        return super().get_value(dictionary)  # type: ignore[misc]


class QueryBooleanField(_EmptyIsGiven, serializers.BooleanField):
    pass


class InstantField(_EmptyIsGiven, serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset (a bare local time is ambiguous, so refused).
    One too far out to convert to UTC stands for the end of time it points at: a filter on
    the year 9999 finds nothing rather than failing."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "naive": "Give the time with its UTC offset, e.g. 2025-01-06T09:00:00Z.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            if value.year > 1:
                return datetime.max.replace(tzinfo=UTC)
            return datetime.min.replace(tzinfo=UTC)


# The names of the schema's enums (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
ACTION_NAMES = sorted({*selectors.ACTIONS.values(), selectors.OTHER_ACTION})
OBJECT_TYPES = sorted(TYPE_KEYS)


class AuditQuerySerializer(serializers.Serializer[Any]):
    # Blank means no filter, as an emptied field of the page's form sends.
    type = serializers.ChoiceField(
        choices=[(key, str(TYPE_KEYS[key]._meta.verbose_name)) for key in sorted(TYPE_KEYS)],
        required=False,
        allow_blank=True,
        help_text="Only changes to this kind of object.",
    )
    actor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=150,
        help_text="Only changes by the person with this username.",
    )
    system = QueryBooleanField(
        required=False,
        default=False,
        help_text="Only changes Tocsin made itself (tasks, the paging engine, commands).",
    )
    since = InstantField(required=False, help_text="Changes at or after this instant.")
    until = InstantField(required=False, help_text="Changes before this instant.")

    @classmethod
    def parse(cls, params: QueryDict) -> selectors.AuditFilters:
        serializer = cls(data=params)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        return selectors.AuditFilters(
            type=valid.get("type", ""),
            username=valid.get("actor", ""),
            system=valid["system"],
            since=valid.get("since"),
            until=valid.get("until"),
        )


class AuditActorSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ("username", "name")
        read_only_fields = fields


class AuditChangeSerializer(serializers.Serializer[Any]):
    field = serializers.CharField()
    before = serializers.JSONField(
        required=False, help_text="The value before; absent for a many-to-many field."
    )
    after = serializers.JSONField(required=False, help_text="The value after; likewise.")
    added = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="For a many-to-many field (a team's members): the rows added.",
    )
    removed = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Likewise, the rows removed."
    )

    def to_representation(self, instance: selectors.Change) -> dict[str, Any]:
        if instance.many:
            return {"field": instance.field, "added": instance.added, "removed": instance.removed}
        return {"field": instance.field, "before": instance.before, "after": instance.after}


class AuditEntrySerializer(serializers.ModelSerializer[LogEntry]):
    at = ViewerDateTimeField(source="timestamp", read_only=True)
    actor = AuditActorSerializer(
        read_only=True,
        allow_null=True,
        help_text="Who made the change; null when Tocsin made it, or the person was deleted.",
    )
    actor_name = serializers.SerializerMethodField(
        help_text='"Tocsin" for changes the system made itself.'
    )
    action = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField(help_text="e.g. oncall.schedule")
    object_id = serializers.CharField(source="object_pk", read_only=True)
    object = serializers.CharField(
        source="object_repr", read_only=True, help_text="The object's name when it changed."
    )
    changes = serializers.SerializerMethodField()

    class Meta:
        model = LogEntry
        fields = (
            "id",
            "at",
            "actor",
            "actor_name",
            "action",
            "object_type",
            "object_id",
            "object",
            "changes",
        )
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_actor_name(self, entry: LogEntry) -> str:
        return actor_name(entry)

    @extend_schema_field(serializers.ChoiceField(choices=ACTION_NAMES))
    def get_action(self, entry: LogEntry) -> str:
        return selectors.ACTIONS.get(entry.action, selectors.OTHER_ACTION)

    @extend_schema_field(serializers.ChoiceField(choices=OBJECT_TYPES))
    def get_object_type(self, entry: LogEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    @extend_schema_field(AuditChangeSerializer(many=True))
    def get_changes(self, entry: LogEntry) -> list[dict[str, Any]]:
        return AuditChangeSerializer(selectors.changes_of(entry), many=True).data  # type: ignore[return-value]
