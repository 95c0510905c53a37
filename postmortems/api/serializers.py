"""What the postmortems API reads and writes. Inputs are only parsed here; the services write."""

from datetime import date, datetime
from typing import Any, cast

from django.db import models
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from incidents.api.serializers import MAX_FILTER_VALUES
from incidents.models import Incident, Team
from ops.api.serializers import ProblemSerializer, StrictSerializer, validated
from ops.timestamps import ViewerDateTimeField
from postmortems import document
from postmortems.markdown import markdown_to_html
from postmortems.models import (
    ActionItem,
    ActionItemKind,
    ActionItemPriority,
    ActionItemStatus,
    ContributingFactor,
    Postmortem,
    PostmortemStatus,
    ReviewRequest,
    ReviewState,
)
from postmortems.selectors import PostmortemFilters, postmortem_reviews
from postmortems.selectors_action_items import ActionItemFilters, is_overdue
from postmortems.services.action_items import DUE_DATE_RULE
from postmortems.services.postmortems import postmortem_markdown
from postmortems.services.reminders import organisation_today
from postmortems.services.workflow import publish_problems

# The longest a section's text may be; a whole postmortem stays well under the body limit.
SECTION_MAX_LENGTH = 100_000
TEXT_MAX_LENGTH = 10_000
# `month` filter: YYYY-MM, or blank for every month (as an emptied form field sends).
MONTH_PATTERN = r"^([1-9][0-9]{3}-(0[1-9]|1[0-2]))?$"
# The `owner` filter's word for the caller.
OWNER_ME = "me"

# Stored times in answers: in UTC where the viewer's zone cannot hold them, never an error.
_TIME_FIELDS = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.DateTimeField: ViewerDateTimeField,
}


class IncidentRefSerializer(serializers.ModelSerializer[Incident]):
    ref = serializers.CharField(read_only=True, help_text="INC-<number>")
    severity = serializers.SlugRelatedField[Any](slug_field="name", read_only=True)
    team = serializers.SlugRelatedField[Any](
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug."
    )

    class Meta:
        model = Incident
        fields = ("ref", "number", "title", "severity", "team")
        read_only_fields = fields


class SectionSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="Names the section in a PATCH.")
    heading = serializers.CharField(help_text="Empty for the header before the first heading.")
    body = serializers.CharField(help_text="Markdown.")
    generated = serializers.BooleanField(
        help_text="Rendered from the incident on every refresh; not edited by hand."
    )
    # DRF's metaclass moves declared fields off the class, so this does not hide `.required`.
    required = serializers.BooleanField(  # type: ignore[assignment]
        help_text="Must be filled before publishing."
    )
    filled = serializers.BooleanField(help_text="Holds words the template did not put there.")
    prompt = serializers.CharField(help_text="The question to answer while it is empty.")


class ReviewSerializer(serializers.ModelSerializer[ReviewRequest]):
    serializer_field_mapping = _TIME_FIELDS
    reviewer = serializers.SlugRelatedField[Any](
        slug_field="username", read_only=True, help_text="A username."
    )
    state = serializers.ChoiceField(choices=ReviewState.choices, read_only=True)

    class Meta:
        model = ReviewRequest
        fields = ("reviewer", "state", "comment", "requested_at", "decided_at")
        read_only_fields = fields


class PostmortemSummarySerializer(serializers.ModelSerializer[Postmortem]):
    """A postmortem in a list: everything but the document."""

    serializer_field_mapping = _TIME_FIELDS
    incident = IncidentRefSerializer(read_only=True)
    status = serializers.ChoiceField(choices=PostmortemStatus.choices, read_only=True)
    authors = serializers.SlugRelatedField[Any](
        slug_field="username", many=True, read_only=True, help_text="Usernames."
    )
    contributing_factors = serializers.SlugRelatedField[Any](
        slug_field="slug", many=True, read_only=True, help_text="Contributing factor slugs."
    )

    class Meta:
        model = Postmortem
        fields: tuple[str, ...] = (
            "incident",
            "title",
            "status",
            "revision",
            "created_at",
            "updated_at",
            "published_at",
            "authors",
            "contributing_factors",
            "no_action_reason",
        )
        read_only_fields: tuple[str, ...] = fields


class PostmortemSerializer(PostmortemSummarySerializer):
    """A postmortem with its document, as Markdown and as safe HTML too."""

    sections = serializers.SerializerMethodField()
    reviews = serializers.SerializerMethodField()
    markdown = serializers.SerializerMethodField(help_text="The whole document.")
    html = serializers.SerializerMethodField(
        help_text="The Markdown rendered and sanitized: no scripts, event handlers or "
        "javascript: links."
    )
    publish_problems = serializers.SerializerMethodField(
        help_text="What stands between it and publishing; empty when nothing does (and once "
        "it is published)."
    )

    class Meta(PostmortemSummarySerializer.Meta):
        fields = (
            *PostmortemSummarySerializer.Meta.fields,
            "sections",
            "reviews",
            "markdown",
            "html",
            "publish_problems",
        )
        read_only_fields = fields

    @extend_schema_field(SectionSerializer(many=True))
    def get_sections(self, postmortem: Postmortem) -> list[dict[str, Any]]:
        return [
            {
                "key": section.key,
                "heading": section.heading,
                "body": section.body,
                "generated": section.generated,
                "required": section.required,
                "filled": section.filled,
                "prompt": section.prompt,
            }
            for section in document.from_json(postmortem.sections)
        ]

    @extend_schema_field(ReviewSerializer(many=True))
    def get_reviews(self, postmortem: Postmortem) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]], ReviewSerializer(postmortem_reviews(postmortem), many=True).data
        )

    @extend_schema_field(OpenApiTypes.STR)
    def get_markdown(self, postmortem: Postmortem) -> str:
        return postmortem_markdown(postmortem)

    @extend_schema_field(OpenApiTypes.STR)
    def get_html(self, postmortem: Postmortem) -> str:
        return markdown_to_html(postmortem_markdown(postmortem))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_publish_problems(self, postmortem: Postmortem) -> list[str]:
        if postmortem.is_published:
            return []
        return publish_problems(postmortem)


def _users_field(*, help_text: str = "Usernames.", **kwargs: Any) -> serializers.ManyRelatedField:
    field = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        many=True,
        error_messages={"does_not_exist": "Unknown user {value}."},
        help_text=help_text,
        **kwargs,
    )
    return cast(serializers.ManyRelatedField, field)


class SectionEditSerializer(StrictSerializer):
    key = serializers.CharField(max_length=100, help_text="The section's key, as read.")
    body = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        max_length=SECTION_MAX_LENGTH,
        help_text="Its new Markdown.",
    )


class PostmortemUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=250, required=False)
    no_action_reason = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Why no action items are needed; publishing needs one or this.",
    )
    contributing_factors = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=ContributingFactor.objects.all(),
        many=True,
        required=False,
        error_messages={"does_not_exist": "Unknown contributing factor {value}."},
        help_text="Contributing factor slugs: the whole set.",
    )
    authors = _users_field(required=False)
    sections = SectionEditSerializer(
        many=True,
        required=False,
        help_text="Written sections to replace; generated ones cannot be.",
    )
    base_revision = serializers.IntegerField(
        min_value=0,
        max_value=2_147_483_647,
        required=False,
        help_text="The revision the text was based on; required with `sections`. A section "
        "someone else changed since is not overwritten: the answer is 409.",
    )

    def validate_contributing_factors(
        self, factors: list[ContributingFactor]
    ) -> list[ContributingFactor]:
        # A retired tag stays on the postmortems that have it, but is not given anew.
        kept: set[int] = self.context.get("factor_ids", set())
        retired = [f.slug for f in factors if not f.active and f.pk not in kept]
        if retired:
            raise serializers.ValidationError(f"Retired contributing factor: {', '.join(retired)}.")
        return factors

    def validate_sections(self, sections: list[dict[str, str]]) -> list[dict[str, str]]:
        keys = [section["key"] for section in sections]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("Give each section once.")
        return sections

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("sections") and "base_revision" not in attrs:
            raise serializers.ValidationError(
                {"base_revision": ["Give the revision your text is based on."]}
            )
        return attrs


class Transition(models.TextChoices):
    REQUEST_REVIEW = "request_review", "Request review"
    APPROVE = "approve", "Approve"
    COMMENT = "comment", "Comment"
    PUBLISH = "publish", "Publish"
    REOPEN = "reopen", "Reopen review"
    REFRESH = "refresh", "Refresh from the incident"


class TransitionSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=Transition.choices)
    reviewers = _users_field(
        required=False,
        help_text="Usernames; with request_review only, which needs at least one.",
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=TEXT_MAX_LENGTH,
        help_text="With approve (optional) or comment (required) only.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        action = attrs["action"]
        errors = {}
        if "reviewers" in attrs and action != Transition.REQUEST_REVIEW:
            errors["reviewers"] = ["Only for request_review."]
        if "comment" in attrs and action not in (Transition.APPROVE, Transition.COMMENT):
            errors["comment"] = ["Only for approve and comment."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PostmortemConflictSerializer(ProblemSerializer):
    problems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Each reason it cannot be done now (for publish: what is still missing).",
    )


class ActionItemSerializer(serializers.ModelSerializer[ActionItem]):
    serializer_field_mapping = _TIME_FIELDS
    incident = IncidentRefSerializer(read_only=True)
    owner = serializers.SlugRelatedField[Any](
        slug_field="username", read_only=True, allow_null=True, help_text="A username."
    )
    team = serializers.SlugRelatedField[Any](
        slug_field="slug", read_only=True, allow_null=True, help_text="A team slug."
    )
    created_by = serializers.SlugRelatedField[Any](
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="A username; null when Tocsin itself created it.",
    )
    # Empty when there is none, which is no URI: plain text in the schema.
    ticket_url = serializers.CharField(read_only=True, help_text="A URL, or empty.")
    overdue = serializers.SerializerMethodField(
        help_text="Not done or declined, and past the end of its due date in the "
        "organisation's time zone."
    )

    class Meta:
        model = ActionItem
        fields = (
            "id",
            "incident",
            "title",
            "description",
            "owner",
            "team",
            "due_date",
            "priority",
            "kind",
            "status",
            "wont_do_reason",
            "success_criteria",
            "ticket_url",
            "overdue",
            "created_by",
            "created_at",
            "updated_at",
            "closed_at",
        )
        read_only_fields = fields

    def get_overdue(self, item: ActionItem) -> bool:
        now: datetime = self.context.get("now") or timezone.now()
        return is_overdue(item, today=organisation_today(now))


class _ActionItemFields(StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True
    )
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "Unknown user {value}."},
        help_text="A username, or null for nobody (then nobody is reminded).",
    )
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "Unknown team {value}."},
        help_text="A team slug, or null for none.",
    )
    # Which dates are taken is the service's rule (services.action_items._check), not a
    # second one here: a date it refuses comes back as a 400 on this field.
    due_date = serializers.DateField(required=False, help_text=DUE_DATE_RULE)
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices, required=False)
    kind = serializers.ChoiceField(choices=ActionItemKind.choices, required=False)
    success_criteria = serializers.CharField(
        max_length=TEXT_MAX_LENGTH, required=False, allow_blank=True
    )
    ticket_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class ActionItemCreateSerializer(_ActionItemFields):
    incident = serializers.IntegerField(
        min_value=1, max_value=999_999_999, help_text="The n of INC-n."
    )


class ActionItemUpdateSerializer(_ActionItemFields):
    title = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices, required=False)
    wont_do_reason = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Required to set status wont_do; cleared when the item is reopened.",
    )


def _many(params: QueryDict, name: str) -> list[str]:
    """A query parameter given repeatedly, comma-separated, or both (as the incident list)."""
    given = params.getlist(name)
    if len(given) > MAX_FILTER_VALUES:
        raise serializers.ValidationError(
            {name: [f"Give it at most {MAX_FILTER_VALUES} times (values may be comma-separated)."]}
        )
    return [item.strip() for raw in given for item in raw.split(",") if item.strip()]


class PostmortemFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ListField(child=serializers.ChoiceField(PostmortemStatus.values))
    severity = serializers.ListField(child=serializers.CharField(max_length=16))
    # Blank means no filter, as an emptied field of the web list's form sends.
    team = serializers.CharField(required=False, allow_blank=True, max_length=100)
    service = serializers.CharField(required=False, allow_blank=True, max_length=100)
    contributing_factor = serializers.CharField(required=False, allow_blank=True, max_length=60)
    month = serializers.RegexField(MONTH_PATTERN, required=False, allow_blank=True)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @classmethod
    def parse(cls, params: QueryDict) -> PostmortemFilters:
        singles = ("team", "service", "contributing_factor", "month", "q")
        valid = validated(
            cls,
            {
                "status": _many(params, "status"),
                "severity": _many(params, "severity"),
                **{name: params[name] for name in singles if name in params},
            },
        )
        month = valid.get("month", "")
        return PostmortemFilters(
            statuses=valid["status"],
            severities=valid["severity"],
            team=valid.get("team", ""),
            service=valid.get("service", ""),
            factor=valid.get("contributing_factor", ""),
            month=date(int(month[:4]), int(month[5:]), 1) if month else None,
            query=valid.get("q", "").strip(),
        )


class ActionItemFilterSerializer(serializers.Serializer[Any]):
    owner = serializers.CharField(required=False, allow_blank=True, max_length=150)
    status = serializers.ListField(child=serializers.ChoiceField(ActionItemStatus.values))
    overdue = serializers.BooleanField(required=False)
    incident = serializers.IntegerField(required=False, min_value=1, max_value=999_999_999)
    team = serializers.CharField(required=False, allow_blank=True, max_length=100)

    @classmethod
    def parse(cls, params: QueryDict, *, user: User) -> ActionItemFilters:
        singles = ("owner", "overdue", "incident", "team")
        valid = validated(
            cls,
            {
                "status": _many(params, "status"),
                **{name: params[name] for name in singles if name in params},
            },
        )
        owner = valid.get("owner", "").strip()
        return ActionItemFilters(
            owner=user.username if owner == OWNER_ME else owner,
            statuses=valid["status"],
            overdue=valid.get("overdue"),
            incident=valid.get("incident"),
            team_slug=valid.get("team", ""),
        )


class _ReportCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    not_started = serializers.IntegerField(help_text="Open: nobody has started it.")
    wont_do = serializers.IntegerField()
    overdue = serializers.IntegerField()
    completion_rate = serializers.FloatField(
        allow_null=True,
        help_text="done / (total - wont_do), to four places; null when that is 0 / 0.",
    )


class _ReportWindowSerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    basis = serializers.CharField()
    time_zone = serializers.CharField(help_text="The organisation's, in which days end.")
    today = serializers.DateField(help_text="In the organisation's time zone.")


class _ReportDefinitionsSerializer(serializers.Serializer[Any]):
    window = serializers.CharField()
    not_started = serializers.CharField()
    overdue = serializers.CharField()
    completion_rate = serializers.CharField()


class _ReportOverallSerializer(_ReportCountsSerializer):
    postmortems = serializers.IntegerField(help_text="How many postmortems are counted.")


class _ReportRowSerializer(_ReportCountsSerializer):
    incident = serializers.CharField(help_text="INC-<number>")
    number = serializers.IntegerField()
    title = serializers.CharField(help_text="The postmortem's.")
    status = serializers.ChoiceField(choices=PostmortemStatus.choices)
    created_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="The postmortem's page.")


class ActionItemReportSerializer(serializers.Serializer[Any]):
    """For the schema: postmortems.report.ActionItemReport.as_json, as the web page's JSON."""

    window = _ReportWindowSerializer()
    definitions = _ReportDefinitionsSerializer()
    overall = _ReportOverallSerializer()
    postmortems = _ReportRowSerializer(many=True, help_text="Newest first.")
