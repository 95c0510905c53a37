"""What the integrations API reads and writes. The services validate and write."""

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from alerts import connect
from alerts.models import Integration, IntegrationKind
from alerts.services.integrations import INTEGRATION_SETTINGS, MAX_GROUP_WINDOW
from incidents.models import Severity, Team
from ops.api.serializers import StrictSerializer

MAX_WINDOW_SECONDS = int(MAX_GROUP_WINDOW.total_seconds())
# The settings after the name; the escalation policy is set on the web page only.
API_SETTINGS = tuple(
    name for name in INTEGRATION_SETTINGS if name not in {"name", "escalation_policy"}
)


class IntegrationSerializer(serializers.ModelSerializer[Integration]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="A team slug."
    )
    default_severity: serializers.SlugRelatedField[Severity] = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="A severity name; null means the least severe.",
    )
    severity_map = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The `severity` label's value → a severity name.",
    )
    grouping_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    group_window = serializers.SerializerMethodField(help_text="Seconds.")
    url = serializers.SerializerMethodField(
        help_text="Where the source posts, without the token: it goes in an "
        "`Authorization: Bearer` header (a generic webhook also takes it at `<url><token>`, "
        "for senders that cannot set a header), or as the Events API's `routing_key`."
    )

    class Meta:
        model = Integration
        fields: tuple[str, ...] = (
            "id",
            "name",
            "kind",
            "team",
            *API_SETTINGS,
            "token_prefix",
            "url",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_group_window(self, integration: Integration) -> int:
        return int(integration.group_window.total_seconds())

    def get_url(self, integration: Integration) -> str:
        return connect.webhook_url(integration)


class IntegrationWithTokenSerializer(IntegrationSerializer):
    token = serializers.SerializerMethodField(
        help_text="The secret the source authenticates with. Shown in this answer only; "
        "Tocsin keeps only its hash."
    )

    class Meta(IntegrationSerializer.Meta):
        fields = (*IntegrationSerializer.Meta.fields, "token")
        read_only_fields = fields

    def get_token(self, integration: Integration) -> str:
        return str(self.context["token"])


def _severity_field(**kwargs: Any) -> serializers.SlugRelatedField[Severity]:
    return serializers.SlugRelatedField(
        slug_field="name",
        queryset=Severity.objects.all(),
        error_messages={"does_not_exist": "Unknown severity {value}."},
        help_text="A severity name, e.g. SEV3; null for the least severe.",
        **kwargs,
    )


class _SettingsFields(StrictSerializer):
    active = serializers.BooleanField(
        required=False, help_text="Paused integrations refuse alerts."
    )
    severity_map = serializers.DictField(
        child=serializers.CharField(max_length=16),
        required=False,
        help_text='The `severity` label\'s value → a severity name, e.g. {"critical": "SEV1"}.',
    )
    default_severity = _severity_field(required=False, allow_null=True)
    grouping_labels = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=20,
        help_text='Label names whose values make a group, e.g. ["alertname", "service"].',
    )
    group_window = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_WINDOW_SECONDS,
        help_text="Seconds a group's incident stays open to new alerts after its last alert.",
    )
    auto_resolve = serializers.BooleanField(
        required=False, help_text="Resolve the incident when all its alerts resolve."
    )
    max_incidents_per_minute = serializers.IntegerField(required=False, min_value=1, max_value=1000)
    title_template = serializers.CharField(required=False, allow_blank=True, max_length=500)
    dedup_key_template = serializers.CharField(required=False, allow_blank=True, max_length=500)
    severity_template = serializers.CharField(required=False, allow_blank=True, max_length=500)
    resolved_template = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate_group_window(self, seconds: int) -> timedelta:
        return timedelta(seconds=seconds)


class IntegrationCreateSerializer(_SettingsFields):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=IntegrationKind.choices)
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        error_messages={"does_not_exist": "Unknown team {value}."},
        help_text="A team slug.",
    )


class IntegrationUpdateSerializer(_SettingsFields):
    name = serializers.CharField(max_length=100, required=False)
