"""What the API reads and writes. Inputs are only parsed here; the services do the writing."""

from collections.abc import Mapping
from typing import Any, ClassVar, cast

from django.conf import settings
from django.db import models
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Role, User
from incidents.models import (
    SUMMARY_MAX_LENGTH,
    Incident,
    RoleAssignment,
    RoleKind,
    Service,
    Severity,
    Status,
    StatusUpdate,
    Team,
    TimelineEvent,
)
from incidents.selectors import IncidentFilters
from incidents.services import IMPACT_IN_FUTURE
from ops.api.serializers import StrictSerializer
from ops.timestamps import EventTimeValidator, ViewerDateTimeField

# The `status` filter accepts every status and this shorthand for all the open ones.
OPEN_FILTER = "open"
STATUS_FILTER_CHOICES = (*Status.values, OPEN_FILTER)
# How often a repeatable filter may be given, which also bounds the query string's length.
MAX_FILTER_VALUES = 10

DRILL_HELP = "A drill or game day: run as any incident, left out of the reports' figures."


class StringMapField(serializers.DictField):
    """A flat JSON object whose values are strings, as incident labels are."""

    child = serializers.CharField(allow_blank=True, max_length=500)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, Mapping):
            not_strings = {
                str(key): ["Label values must be strings."]
                for key, value in data.items()
                if not isinstance(value, str)
            }
            if not_strings:
                raise serializers.ValidationError(not_strings)
        value: dict[str, str] = super().to_internal_value(data)
        return value


def _severity_field(**kwargs: Any) -> serializers.SlugRelatedField[Severity]:
    return serializers.SlugRelatedField(
        slug_field="name",
        queryset=Severity.objects.all(),
        error_messages={"does_not_exist": "Unknown severity {value}."},
        help_text="A severity name, e.g. SEV2.",
        **kwargs,
    )


def _services_field() -> serializers.ManyRelatedField:
    # many=True makes DRF build a ManyRelatedField around the slug field.
    field = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        error_messages={"does_not_exist": "Unknown service {value}."},
        help_text="Service slugs.",
    )
    return cast(serializers.ManyRelatedField, field)


def _team_field() -> serializers.SlugRelatedField[Team]:
    return serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "Unknown team {value}."},
        help_text="A team slug, or null for none.",
    )


def _user_field(**kwargs: Any) -> serializers.SlugRelatedField[User]:
    return serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown user {value}."},
        help_text="A username.",
        **kwargs,
    )


def _expected_status_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="The status you last saw. If the incident's is another now, nothing is "
        "changed and the answer is 409 naming the current one.",
    )


def _expected_severity_field() -> serializers.SlugRelatedField[Severity]:
    return serializers.SlugRelatedField(
        slug_field="name",
        queryset=Severity.objects.all(),
        required=False,
        error_messages={"does_not_exist": "Unknown severity {value}."},
        help_text="The severity you last saw (a name, e.g. SEV2). If the incident's is another "
        "now, nothing is changed and the answer is 409 naming the current one.",
    )


# What the model serializers below answer stored times with: never an error for a time the
# viewer's zone cannot hold (rows written before times were checked).
_TIME_FIELDS = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DateTimeField: ViewerDateTimeField,
}


class RoleSerializer(serializers.ModelSerializer[RoleAssignment]):
    user: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="A username."
    )

    class Meta:
        model = RoleAssignment
        fields = ("role", "user")


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    serializer_field_mapping = _TIME_FIELDS
    ref = serializers.CharField(read_only=True, help_text="INC-<number>")
    severity: serializers.SlugRelatedField[Severity] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    commander: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )
    services: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug."
    )
    labels = serializers.DictField(child=serializers.CharField(), read_only=True)
    roles = RoleSerializer(many=True, read_only=True)
    drill = serializers.BooleanField(read_only=True, help_text=DRILL_HELP)
    reopen_count = serializers.IntegerField(
        read_only=True, help_text="How many times it was reopened after a resolution."
    )
    url = serializers.SerializerMethodField(help_text="The incident's web page.")

    class Meta:
        model = Incident
        fields = (
            "number",
            "ref",
            "title",
            "summary",
            "severity",
            "status",
            "commander",
            "services",
            "team",
            "private",
            "drill",
            "labels",
            "source",
            "cause_category",
            "resolution",
            "roles",
            "started_at",
            "detected_at",
            "declared_at",
            "acknowledged_at",
            "identified_at",
            "mitigated_at",
            "resolved_at",
            "last_resolved_at",
            "reopen_count",
            "url",
        )
        read_only_fields = fields
        extra_kwargs: ClassVar = {
            "resolved_at": {"help_text": "The first resolution; a reopen leaves it."},
            "last_resolved_at": {
                "help_text": "The latest resolution: the first one unless it was reopened."
            },
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, incident: Incident) -> str:
        # The configured address, as Slack and email links use, not whichever host the API
        # was called through (behind a proxy that may be an internal name).
        return f"{settings.BASE_URL}{incident.get_absolute_url()}"


class IncidentCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200)
    severity = _severity_field()
    summary = serializers.CharField(required=False, allow_blank=True, max_length=SUMMARY_MAX_LENGTH)
    services = _services_field()
    team = _team_field()
    private = serializers.BooleanField(required=False)
    drill = serializers.BooleanField(required=False, help_text=DRILL_HELP)
    commander = _user_field(required=False, allow_null=True)
    started_at = serializers.DateTimeField(
        required=False,
        validators=[EventTimeValidator(IMPACT_IN_FUTURE)],
        help_text="When impact began; defaults to now. From 2000-01-01, not in the future.",
    )
    labels = StringMapField(required=False)

    def validate_commander(self, user: User | None) -> User | None:
        if user is not None and not user.can_respond:
            raise serializers.ValidationError(f"{user.username} cannot take an incident role.")
        return user


class IncidentUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=SUMMARY_MAX_LENGTH)
    services = _services_field()
    team = _team_field()
    private = serializers.BooleanField(required=False)
    drill = serializers.BooleanField(
        required=False,
        help_text=f"{DRILL_HELP} Changed by its commander, a manager or an admin.",
    )
    cause_category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    started_at = serializers.DateTimeField(
        required=False,
        validators=[EventTimeValidator(IMPACT_IN_FUTURE)],
        help_text="When impact began. From 2000-01-01, not in the future, not after the "
        "incident was detected (`detected_at`).",
    )
    labels = StringMapField(required=False)
    severity = _severity_field(required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    expected_severity = _expected_severity_field()
    expected_status = _expected_status_field()


class EmptySerializer(StrictSerializer):
    pass


class StatusChangeSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    expected_status = _expected_status_field()


class SeverityChangeSerializer(StrictSerializer):
    severity = _severity_field()
    expected_severity = _expected_severity_field()


class RoleAssignSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=RoleKind.choices)
    user = _user_field()
    expected_holder: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "Unknown user {value}."},
        help_text="Who you last saw holding the role (a username; null for nobody). If someone "
        "else holds it now, nothing is changed and the answer is 409 naming them. Not checked "
        "for subject experts, who are added rather than replaced.",
    )


class NoteCreateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=10_000)


class StatusUpdateCreateSerializer(StrictSerializer):
    message = serializers.CharField(max_length=10_000)
    public = serializers.BooleanField(required=False, help_text="Shown on the status page.")


class ResolveSerializer(StrictSerializer):
    resolution = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    expected_status = _expected_status_field()


class ReopenSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TimelineEventSerializer(serializers.ModelSerializer[TimelineEvent]):
    serializer_field_mapping = _TIME_FIELDS
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="A username; null when Tocsin itself acted.",
    )

    class Meta:
        model = TimelineEvent
        fields = ("id", "kind", "occurred_at", "actor", "source", "message", "data", "highlighted")
        read_only_fields = fields


class StatusUpdateSerializer(serializers.ModelSerializer[StatusUpdate]):
    serializer_field_mapping = _TIME_FIELDS
    author: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )

    class Meta:
        model = StatusUpdate
        fields = ("id", "message", "public", "status", "posted_at", "author")
        read_only_fields = fields


class SeveritySerializer(serializers.ModelSerializer[Severity]):
    class Meta:
        model = Severity
        fields = (
            "name",
            "rank",
            "description",
            "response_target",
            "escalation",
            "statuspage_impact",
            "update_cadence",
            "color",
        )
        read_only_fields = fields


class ServiceSerializer(serializers.ModelSerializer[Service]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug."
    )

    class Meta:
        model = Service
        fields = ("slug", "name", "description", "team", "public")
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer[Team]):
    class Meta:
        model = Team
        fields = ("slug", "name", "description")
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="display_name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, source="effective_role", read_only=True)

    class Meta:
        model = User
        fields = ("username", "name", "role")
        read_only_fields = fields


def _many(params: QueryDict, name: str) -> list[str]:
    """A query parameter given repeatedly, comma-separated, or both."""
    given = params.getlist(name)
    if len(given) > MAX_FILTER_VALUES:
        raise serializers.ValidationError(
            {name: [f"Give it at most {MAX_FILTER_VALUES} times (values may be comma-separated)."]}
        )
    return [item.strip() for raw in given for item in raw.split(",") if item.strip()]


class IncidentFilterSerializer(serializers.Serializer[Any]):
    """The list's query string; the same filters as the web list."""

    status = serializers.ListField(child=serializers.ChoiceField(STATUS_FILTER_CHOICES))
    severity = serializers.ListField(child=serializers.CharField(max_length=16))
    # Blank means no filter, as an emptied field of the web list's form sends.
    team = serializers.CharField(required=False, allow_blank=True, max_length=100)
    service = serializers.CharField(required=False, allow_blank=True, max_length=100)
    mine = serializers.BooleanField(required=False)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @classmethod
    def parse(cls, params: QueryDict) -> IncidentFilters:
        data: dict[str, Any] = {
            "status": _many(params, "status"),
            "severity": _many(params, "severity"),
        }
        data.update(
            {name: params[name] for name in ("team", "service", "mine", "q") if name in params}
        )
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        return IncidentFilters(
            statuses=valid["status"],
            severities=valid["severity"],
            team=valid.get("team", ""),
            service=valid.get("service", ""),
            mine=valid.get("mine", False),
            query=valid.get("q", "").strip(),
        )
