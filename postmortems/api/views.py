"""The postmortems API: parse the request, call a service or selector, render the answer.

Permission checks live in the services; their PermissionDenied and ValidationError become 403
and 400 problem details in ops.problems. A postmortem's conflicts (it is published, a section
changed since it was read, publishing is not allowed yet) are 409 problems that list each
reason in `problems`. What the caller may not see is 404, exactly as what does not exist.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.requests import api_user
from incidents import selectors as incident_selectors
from incidents.api.serializers import MAX_FILTER_VALUES, EmptySerializer
from incidents.api.views import INCIDENT_404, NUMBER_PARAMETER
from incidents.models import Incident
from ops.api.schema import problems
from ops.api.serializers import validated
from ops.problems import PROBLEM_CONTENT_TYPE, problem_body
from postmortems import report, selectors
from postmortems import selectors_action_items as item_selectors
from postmortems.api.serializers import (
    MONTH_PATTERN,
    OWNER_ME,
    ActionItemCreateSerializer,
    ActionItemFilterSerializer,
    ActionItemReportSerializer,
    ActionItemSerializer,
    ActionItemUpdateSerializer,
    PostmortemConflictSerializer,
    PostmortemFilterSerializer,
    PostmortemSerializer,
    PostmortemSummarySerializer,
    PostmortemUpdateSerializer,
    Transition,
    TransitionSerializer,
)
from postmortems.models import (
    ActionItem,
    ActionItemStatus,
    Postmortem,
    PostmortemStatus,
)
from postmortems.rendering import TemplateProblem
from postmortems.services import action_items, workflow
from postmortems.services.postmortems import (
    PostmortemConflict,
    postmortem_create,
    postmortem_refresh,
    postmortem_save_section,
)

POSTMORTEM_TAGS = ["postmortems"]
ACTION_ITEM_TAGS = ["action items"]

POSTMORTEM_404 = f"{INCIDENT_404} Or it has no postmortem yet."
CONFLICT = {
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        PostmortemConflictSerializer,
        description="The postmortem's state does not allow this now; `problems` says why.",
    )
}
ACTION_ITEM_404 = "No such action item, or one of a private incident you take no part in."

POSTMORTEM_LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        {
            "type": "array",
            "items": {"type": "string", "enum": PostmortemStatus.values},
            "maxItems": MAX_FILTER_VALUES,
        },
        description="Repeatable, or comma-separated.",
    ),
    OpenApiParameter(
        "severity",
        {
            "type": "array",
            "items": {"type": "string", "maxLength": 16},
            "maxItems": MAX_FILTER_VALUES,
        },
        description="The incident's severity names (SEV1…); repeatable or commas.",
    ),
    OpenApiParameter(
        "team", {"type": "string", "maxLength": 100}, description="The incident's team slug."
    ),
    OpenApiParameter(
        "service",
        {"type": "string", "maxLength": 100},
        description="A service slug among the incident's.",
    ),
    OpenApiParameter(
        "month",
        {"type": "string", "pattern": MONTH_PATTERN},
        description="YYYY-MM: incidents whose impact began that month, in the organisation's "
        "time zone.",
    ),
    OpenApiParameter(
        "contributing_factor",
        {"type": "string", "maxLength": 60},
        description="A contributing factor slug.",
    ),
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 200},
        description="Words in the postmortem's or the incident's title; `INC-12` or `12` finds "
        "that incident's.",
    ),
]

ACTION_ITEM_LIST_PARAMETERS = [
    OpenApiParameter(
        "owner",
        {"type": "string", "maxLength": 150},
        description=f"A username, or `{OWNER_ME}` for your own.",
    ),
    OpenApiParameter(
        "status",
        {
            "type": "array",
            "items": {"type": "string", "enum": ActionItemStatus.values},
            "maxItems": MAX_FILTER_VALUES,
        },
        description="Repeatable, or comma-separated.",
    ),
    OpenApiParameter(
        "overdue",
        bool,
        description="true: only items not done or declined whose due date has ended (in the "
        "organisation's time zone); false: only the others.",
    ),
    OpenApiParameter(
        "incident",
        {"type": "integer", "minimum": 1, "maximum": 999_999_999},
        description="The n of INC-n.",
    ),
    OpenApiParameter("team", {"type": "string", "maxLength": 100}, description="A team slug."),
]


def _conflict(request: Request, exc: Exception | str, reasons: list[str] | None = None) -> Response:
    body = problem_body(
        status.HTTP_409_CONFLICT,
        detail=str(exc),
        instance=request.path,
        problems=reasons or [str(exc)],
    )
    return Response(body, status=status.HTTP_409_CONFLICT, content_type=PROBLEM_CONTENT_TYPE)


def _incident(request: Request, number: str) -> Incident:
    try:
        return incident_selectors.incident_get_for_user(user=api_user(request), number=int(number))
    except Incident.DoesNotExist as exc:
        raise exceptions.NotFound(INCIDENT_404) from exc


def _postmortem(request: Request, number: str) -> Postmortem:
    try:
        return selectors.postmortem_get_for_user(user=api_user(request), number=int(number))
    except Postmortem.DoesNotExist as exc:
        raise exceptions.NotFound(POSTMORTEM_404) from exc


def _render(request: Request, number: str, code: int = status.HTTP_200_OK) -> Response:
    # Read afresh: the services return the locked row, without what the answer shows.
    return Response(PostmortemSerializer(_postmortem(request, number)).data, status=code)


def _in_section(index: int, exc: ValidationError) -> exceptions.ValidationError:
    """A section service's error, said of the section it is about: `sections.1.key`."""
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    return exceptions.ValidationError(
        {f"sections.{index}.{name}": errors for name, errors in messages.items()}
    )


class IncidentPostmortem(generics.GenericAPIView[Postmortem]):
    # For the schema only: reads go through the selectors, which apply visibility.
    queryset = Postmortem.objects.none()
    serializer_class = PostmortemSerializer

    @extend_schema(
        tags=POSTMORTEM_TAGS,
        summary="Get an incident's postmortem",
        description="Its sections, the whole document as Markdown and as sanitized HTML, and "
        "what still stands between it and publishing.",
        parameters=[NUMBER_PARAMETER],
        responses={200: PostmortemSerializer, **problems(404, _404=POSTMORTEM_404)},
    )
    def get(self, request: Request, number: str) -> Response:
        return _render(request, number)

    @extend_schema(
        tags=POSTMORTEM_TAGS,
        summary="Start an incident's postmortem",
        description="Drafts it from the default template, once the incident is resolved (409 "
        "before). Answers 201 with the new draft, or 200 with the postmortem it already has.",
        parameters=[NUMBER_PARAMETER],
        request=EmptySerializer,
        responses={
            200: PostmortemSerializer,
            201: PostmortemSerializer,
            **problems(404, _404=INCIDENT_404),
            **CONFLICT,
        },
    )
    def post(self, request: Request, number: str) -> Response:
        incident = _incident(request, number)
        validated(EmptySerializer, request.data)
        existed = Postmortem.objects.filter(incident=incident).exists()
        try:
            postmortem_create(incident=incident, actor=api_user(request))
        except PostmortemConflict as exc:
            return _conflict(request, exc)
        except TemplateProblem as exc:
            # Neither the template nor the built-in one can render this incident: say why.
            return _conflict(request, f"The postmortem could not be drafted: {exc}")
        if existed:
            return _render(request, number)
        response = _render(request, number, status.HTTP_201_CREATED)
        response["Location"] = reverse(
            "postmortems-api:incident-postmortem", kwargs={"number": incident.number}
        )
        return response

    @extend_schema(
        tags=POSTMORTEM_TAGS,
        summary="Edit a postmortem",
        description="Replaces the text of written sections (each a revision) and the details "
        "given. All of it happens, or none of it. A published postmortem is read-only (409): "
        "reopen its review first.",
        parameters=[NUMBER_PARAMETER],
        request=PostmortemUpdateSerializer,
        responses={200: PostmortemSerializer, **problems(404, _404=POSTMORTEM_404), **CONFLICT},
    )
    def patch(self, request: Request, number: str) -> Response:
        actor = api_user(request)
        postmortem = _postmortem(request, number)
        serializer = PostmortemUpdateSerializer(
            data=request.data,
            context={"factor_ids": {f.pk for f in postmortem.contributing_factors.all()}},
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        sections: list[dict[str, str]] = data.pop("sections", None) or []
        base_revision: int = data.pop("base_revision", 0)
        try:
            # One transaction, so a refused second section also undoes the first.
            with transaction.atomic():
                for index, section in enumerate(sections):
                    try:
                        postmortem = postmortem_save_section(
                            postmortem=postmortem,
                            actor=actor,
                            key=section["key"],
                            body=section["body"],
                            base_revision=base_revision,
                        )
                    except ValidationError as exc:
                        raise _in_section(index, exc) from exc
                # Even with nothing else to change: it checks the caller may edit at all.
                workflow.postmortem_update_details(postmortem=postmortem, actor=actor, **data)
        except PostmortemConflict as exc:
            return _conflict(request, exc)
        return _render(request, number)


# What each transition calls, given the postmortem, the caller and the validated body.
type Act = Callable[[Postmortem, User, dict[str, Any]], object]
TRANSITIONS: dict[str, Act] = {
    Transition.REQUEST_REVIEW: lambda postmortem, actor, data: workflow.postmortem_request_review(
        postmortem=postmortem, actor=actor, reviewers=data.get("reviewers", [])
    ),
    Transition.APPROVE: lambda postmortem, actor, data: workflow.postmortem_review(
        postmortem=postmortem, actor=actor, approve=True, comment=data.get("comment", "")
    ),
    Transition.COMMENT: lambda postmortem, actor, data: workflow.postmortem_review(
        postmortem=postmortem, actor=actor, approve=False, comment=data.get("comment", "")
    ),
    Transition.PUBLISH: lambda postmortem, actor, data: workflow.postmortem_publish(
        postmortem=postmortem, actor=actor
    ),
    Transition.REOPEN: lambda postmortem, actor, data: workflow.postmortem_reopen_review(
        postmortem=postmortem, actor=actor
    ),
    Transition.REFRESH: lambda postmortem, actor, data: postmortem_refresh(
        postmortem=postmortem, actor=actor
    ),
}


class PostmortemTransitions(generics.GenericAPIView[Postmortem]):
    queryset = Postmortem.objects.none()
    serializer_class = PostmortemSerializer

    @extend_schema(
        tags=POSTMORTEM_TAGS,
        summary="Move a postmortem through review",
        description="`request_review` from the named `reviewers` (draft or in review → in "
        "review); `approve` or `comment` as one of them (a comment needs its text); "
        "`publish` once every required section is filled, there is an action item or a "
        "reason for none, and a reviewer approved; `reopen` a published one for review; "
        "`refresh` the generated sections from the incident, keeping every written word. "
        "What the state does not allow is 409, with each reason in `problems`.",
        parameters=[NUMBER_PARAMETER],
        request=TransitionSerializer,
        responses={200: PostmortemSerializer, **problems(404, _404=POSTMORTEM_404), **CONFLICT},
    )
    def post(self, request: Request, number: str) -> Response:
        actor = api_user(request)
        postmortem = _postmortem(request, number)
        data = validated(TransitionSerializer, request.data)
        try:
            TRANSITIONS[data["action"]](postmortem, actor, data)
        except PostmortemConflict as exc:
            reasons = None
            if data["action"] == Transition.PUBLISH:
                current = _postmortem(request, number)
                reasons = [] if current.is_published else workflow.publish_problems(current)
            return _conflict(request, exc, reasons)
        except TemplateProblem as exc:
            return _conflict(request, f"The postmortem could not be refreshed: {exc}")
        return _render(request, number)


@extend_schema_view(
    get=extend_schema(
        tags=POSTMORTEM_TAGS,
        summary="List postmortems",
        description="The newest incident's first (as the web list); those of private "
        "incidents only to their participants.",
        parameters=POSTMORTEM_LIST_PARAMETERS,
        responses=PostmortemSummarySerializer,
    )
)
class PostmortemList(generics.ListAPIView[Postmortem]):
    queryset = Postmortem.objects.none()
    serializer_class = PostmortemSummarySerializer

    def get_queryset(self) -> QuerySet[Postmortem]:
        filters = PostmortemFilterSerializer.parse(self.request.query_params)
        # The list's rows as the web list has them, with the authors this answer names too.
        postmortems = selectors.postmortem_list(user=api_user(self.request), filters=filters)
        return postmortems.prefetch_related("authors")


def _action_item(request: Request, pk: int) -> ActionItem:
    try:
        return item_selectors.action_item_get_for_user(user=api_user(request), pk=pk)
    except ActionItem.DoesNotExist as exc:
        raise exceptions.NotFound(ACTION_ITEM_404) from exc


def _render_item(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    data = ActionItemSerializer(_action_item(request, pk), context={"now": timezone.now()}).data
    return Response(data, status=code)


@extend_schema_view(
    get=extend_schema(
        tags=ACTION_ITEM_TAGS,
        summary="List action items",
        description="Those still to do first, then the done and declined; each soonest due "
        "first, then the most urgent (as the web list). Those of private incidents only to "
        "their participants.",
        parameters=ACTION_ITEM_LIST_PARAMETERS,
        responses=ActionItemSerializer,
    )
)
class ActionItemList(generics.ListAPIView[ActionItem]):
    queryset = ActionItem.objects.none()
    serializer_class = ActionItemSerializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # One now for the whole page, so `overdue` agrees with the filter.
        self.now = timezone.now()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": self.now}

    def get_queryset(self) -> QuerySet[ActionItem]:
        user = api_user(self.request)
        filters = ActionItemFilterSerializer.parse(self.request.query_params, user=user)
        return item_selectors.action_item_list(user=user, filters=filters, now=self.now)

    @extend_schema(
        tags=ACTION_ITEM_TAGS,
        summary="Add an action item",
        description="To the incident `incident` names (and so to its postmortem). Without a "
        "due date, it is due after the days its severity gives (SEV1: 14). The owner is "
        "reminded two days before, then daily while it is overdue.",
        request=ActionItemCreateSerializer,
        responses={201: ActionItemSerializer},
    )
    def post(self, request: Request) -> Response:
        actor = api_user(request)
        data = validated(ActionItemCreateSerializer, request.data)
        number = data.pop("incident")
        try:
            incident = incident_selectors.incident_get_for_user(user=actor, number=number)
        except Incident.DoesNotExist as exc:
            raise exceptions.ValidationError({"incident": [INCIDENT_404]}) from exc
        item = action_items.action_item_create(incident=incident, actor=actor, **data)
        response = _render_item(request, item.pk, status.HTTP_201_CREATED)
        response["Location"] = reverse("postmortems-api:action-item-detail", kwargs={"pk": item.pk})
        return response


class ActionItemDetail(generics.GenericAPIView[ActionItem]):
    queryset = ActionItem.objects.none()
    serializer_class = ActionItemSerializer

    @extend_schema(
        tags=ACTION_ITEM_TAGS,
        summary="Get an action item",
        responses={200: ActionItemSerializer, **problems(404, _404=ACTION_ITEM_404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _render_item(request, pk)

    @extend_schema(
        tags=ACTION_ITEM_TAGS,
        summary="Change an action item",
        description="Any of its fields; `wont_do` needs a `wont_do_reason`. Done and won't-do "
        "items are no longer reminded.",
        request=ActionItemUpdateSerializer,
        responses={200: ActionItemSerializer, **problems(404, _404=ACTION_ITEM_404)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = api_user(request)
        item = _action_item(request, pk)
        changes = validated(ActionItemUpdateSerializer, request.data)
        action_items.action_item_update(item=item, actor=actor, changes=dict(changes))
        return _render_item(request, pk)


class ActionItemReport(generics.GenericAPIView[Postmortem]):
    queryset = Postmortem.objects.none()
    serializer_class = ActionItemReportSerializer

    @extend_schema(
        tags=ACTION_ITEM_TAGS,
        summary="Action-item report",
        description=f"For each postmortem created in the last {report.REPORT_DAYS} days that "
        "you may see, and for all of them: its incident's action items in total, done, in "
        "progress, not started, won't do and overdue, and the completion rate. The same "
        "figures as the web page's JSON (/action-items/report.json); `definitions` says what "
        "each means.",
        responses={200: ActionItemReportSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(report.action_item_report(user=api_user(request)).as_json())
