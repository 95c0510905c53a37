"""What the on-call API reads and writes. Inputs are only parsed here; the services write."""

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from incidents.models import Team
from oncall.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    LayerParticipant,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from ops.api.serializers import StrictSerializer
from ops.timestamps import ViewerDateTimeField, validate_plan_time

MAX_SHIFTS_WINDOW = timedelta(days=90)
DEFAULT_SHIFTS_WINDOW = timedelta(days=14)


# Stored times in answers: in UTC where the viewer's zone cannot hold them, never an error.
_TIME_FIELDS = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DateTimeField: ViewerDateTimeField,
}


class PersonSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "name")
        read_only_fields = fields


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant with its UTC offset: a bare local time is ambiguous, so refused.
    In the window of schedules (ops.timestamps: from 2000, at most three years ahead)."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "naive": "Give the time with its UTC offset, e.g. 2025-01-06T09:00:00Z.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", ()), validate_plan_time]
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        # DRF reads an empty query parameter (`?at=`) as absent, so as "now": say it is wrong.
        if isinstance(dictionary, QueryDict) and dictionary.get(self.field_name or "") == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, value: Any) -> datetime:
        # In a query string an unencoded "+" arrives as a space: "09:00:00 01:00" meant +01:00.
        if isinstance(value, str) and "T" in value and " " in value.strip():
            value = value.strip().replace(" ", "+")
        return super().to_internal_value(value)

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class ParticipantSerializer(serializers.ModelSerializer[LayerParticipant]):
    user = PersonSerializer(read_only=True)

    class Meta:
        model = LayerParticipant
        fields = ("position", "user")
        read_only_fields = fields


class RestrictionSerializer(serializers.Serializer[Any]):
    start = serializers.CharField(help_text="HH:MM in the layer's zone.")
    end = serializers.CharField(help_text="HH:MM; at or before start means overnight.")
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="The days the window opens on, 0 = Monday; empty = every day.",
    )


class LayerSerializer(serializers.ModelSerializer[ScheduleLayer]):
    serializer_field_mapping = _TIME_FIELDS
    participants = ParticipantSerializer(many=True, read_only=True)
    restrictions = RestrictionSerializer(many=True, read_only=True)

    class Meta:
        model = ScheduleLayer
        fields = (
            "id",
            "name",
            "level",
            "shift_length",
            "shift_hours",
            "rotation_start",
            "time_zone",
            "restrictions",
            "starts_at",
            "ends_at",
            "participants",
        )
        read_only_fields = fields


class ScheduleSerializer(serializers.ModelSerializer[Schedule]):
    """Caller puts the current layers in context["layers"] and who is on call now in
    context["on_call"], both by schedule id."""

    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="A team slug."
    )
    layers = serializers.SerializerMethodField(
        help_text="The layers in force now or later, highest level first."
    )
    on_call_now = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ("id", "name", "description", "team", "time_zone", "layers", "on_call_now")
        read_only_fields = fields

    @extend_schema_field(LayerSerializer(many=True))
    def get_layers(self, schedule: Schedule) -> Any:
        layers = self.context["layers"].get(schedule.pk, [])
        return LayerSerializer(layers, many=True).data

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_on_call_now(self, schedule: Schedule) -> Any:
        user = self.context["on_call"].get(schedule.pk)
        return PersonSerializer(user).data if user is not None else None


class OnCallQuerySerializer(serializers.Serializer[Any]):
    at = AwareDateTimeField(required=False, help_text="An ISO 8601 instant; default now.")


class OnCallSerializer(serializers.Serializer[Any]):
    schedule = serializers.IntegerField(help_text="The schedule's id.")
    at = serializers.DateTimeField()
    user = PersonSerializer(allow_null=True, help_text="Who is on call at `at`; null for nobody.")
    until = serializers.DateTimeField(
        allow_null=True,
        help_text="When someone else (or nobody) takes over; null when nobody is on call or "
        "the same person stays on for the next 90 days.",
    )


class ShiftsQuerySerializer(serializers.Serializer[Any]):
    start = AwareDateTimeField(required=False, help_text="Default now.")
    end = AwareDateTimeField(required=False, help_text="Default 14 days after start.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        start = data.get("start") or timezone.now()
        end = data.get("end") or start + DEFAULT_SHIFTS_WINDOW
        if end <= start:
            raise serializers.ValidationError({"end": "The window must end after it starts."})
        if end - start > MAX_SHIFTS_WINDOW:
            raise serializers.ValidationError({"end": "Ask for at most 90 days at a time."})
        return {"start": start, "end": end}


class ShiftSerializer(serializers.Serializer[Any]):
    user = PersonSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    layer = serializers.IntegerField(
        allow_null=True, help_text="The layer that put them on call; null for an override."
    )
    override = serializers.IntegerField(allow_null=True, help_text="The override, if one did.")


class ShiftsSerializer(serializers.Serializer[Any]):
    schedule = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    shifts = ShiftSerializer(many=True, help_text="The final schedule, in order; gaps mean nobody.")


class OverrideCreateSerializer(StrictSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown user {value}."},
        help_text="A username: who is on call for the span.",
    )
    start = AwareDateTimeField()
    end = AwareDateTimeField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class OverrideSerializer(serializers.ModelSerializer[ScheduleOverride]):
    serializer_field_mapping = _TIME_FIELDS
    user = PersonSerializer(read_only=True)
    created_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ScheduleOverride
        fields = ("id", "schedule", "user", "start", "end", "note", "created_by", "created_at")
        read_only_fields = fields


class TargetSerializer(serializers.ModelSerializer[EscalationTarget]):
    user = PersonSerializer(read_only=True, allow_null=True)
    schedule: serializers.PrimaryKeyRelatedField[Schedule] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="A schedule id: whoever is on call in it."
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug: its leads."
    )

    class Meta:
        model = EscalationTarget
        fields = ("kind", "user", "schedule", "team")
        read_only_fields = fields


class LevelSerializer(serializers.ModelSerializer[EscalationLevel]):
    delay = serializers.SerializerMethodField(
        help_text="Seconds to acknowledge before the next level is paged."
    )
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationLevel
        fields = ("position", "delay", "management", "targets")
        read_only_fields = fields

    def get_delay(self, level: EscalationLevel) -> int:
        return int(level.delay.total_seconds())


class PolicySerializer(serializers.ModelSerializer[EscalationPolicy]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug."
    )
    levels = LevelSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = ("id", "name", "description", "team", "repeat", "is_default", "levels")
        read_only_fields = fields
