"""The REST API: parse the request, call a service or selector, render the answer.

Permission checks live in the services; their PermissionDenied, ValidationError and
IncidentConflict become 403, 400 and 409 problem details in ops.problems. Incidents the caller
may not see are 404, exactly as numbers that do not exist.
"""

from collections.abc import Callable
from typing import Any, cast

from django.db import transaction
from django.db.models import Model, Prefetch, QuerySet, prefetch_related_objects
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.requests import api_user
from incidents import selectors, services
from incidents.api.serializers import (
    MAX_FILTER_VALUES,
    STATUS_FILTER_CHOICES,
    EmptySerializer,
    IncidentCreateSerializer,
    IncidentFilterSerializer,
    IncidentSerializer,
    IncidentUpdateSerializer,
    NoteCreateSerializer,
    ReopenSerializer,
    ResolveSerializer,
    RoleAssignSerializer,
    ServiceSerializer,
    SeverityChangeSerializer,
    SeveritySerializer,
    StatusChangeSerializer,
    StatusUpdateCreateSerializer,
    StatusUpdateSerializer,
    TeamSerializer,
    TimelineEventSerializer,
    UserSerializer,
)
from incidents.models import (
    Incident,
    RoleAssignment,
    RoleKind,
    Service,
    Severity,
    Source,
    Status,
    StatusUpdate,
    Team,
    TimelineEvent,
)
from ops.api.schema import PAGE_NOT_FOUND, problems
from ops.api.serializers import validated

# What the incident JSON needs beyond the row, fetched in a fixed number of queries.
INCIDENT_PREFETCH = (
    "services",
    Prefetch("roles", queryset=RoleAssignment.objects.select_related("user")),
)

# Errors that need knowing the domain; the rest (400, 401, 403, 404, 413, 415) follow from each
# operation's shape in ApiSchema.
INCIDENT_404 = "No such incident, or a private one you take no part in."
NOT_FOUND = problems(404, _404=INCIDENT_404)

# Incident actions answer with the changed incident; notes and status updates are new records
# of their own and answer 201 with that record.
ACTION_RESPONSES: dict[int | tuple[int, str], Any] = {
    200: IncidentSerializer,
    **NOT_FOUND,
    **problems(409, _409="The incident's lifecycle does not allow this now."),
}

LIST_PARAMETERS = [
    OpenApiParameter(
        "status",
        {
            "type": "array",
            "items": {"type": "string", "enum": sorted(STATUS_FILTER_CHOICES)},
            "maxItems": MAX_FILTER_VALUES,
        },
        description="Repeatable, or comma-separated. `open` means every status but resolved.",
    ),
    OpenApiParameter(
        "severity",
        {
            "type": "array",
            "items": {"type": "string", "maxLength": 16},
            "maxItems": MAX_FILTER_VALUES,
        },
        description="Severity names (SEV1…); repeatable or commas.",
    ),
    OpenApiParameter("team", {"type": "string", "maxLength": 100}, description="A team slug."),
    OpenApiParameter(
        "service", {"type": "string", "maxLength": 100}, description="A service slug."
    ),
    OpenApiParameter(
        "mine", bool, description="Only incidents you declared, command or hold a role in."
    ),
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 200},
        description="Text in the title or summary; `INC-12` or `12` finds that number.",
    ),
]

NUMBER_PARAMETER = OpenApiParameter(
    "number",
    # lookup_value_regex: nine digits at most, so the number fits the 32-bit column.
    {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    OpenApiParameter.PATH,
    description="The n of INC-n.",
)


def _incident_for(request: Request, number: str) -> Incident:
    try:
        return selectors.incident_get_for_user(user=api_user(request), number=int(number))
    except Incident.DoesNotExist as exc:
        raise exceptions.NotFound() from exc


# What an incident action does once the view has the incident and the body as `body` validated
# it: it calls a service and returns the changed incident, or the new record (a note, an update).
type IncidentAct = Callable[[IncidentViewSet, Incident, User, Any], Model]
type ActionView = Callable[[IncidentViewSet, Request, str], Response]


def incident_action(
    *,
    summary: str,
    body: type[serializers.Serializer[Any]],
    url_path: str | None = None,
    description: str | None = None,
    created: type[serializers.ModelSerializer[Any]] | None = None,
) -> Callable[[IncidentAct], ActionView]:
    """A POST on one incident, routed and documented: the incident the path names (404 when the
    caller may not see it), then the body, then the act. The answer is the changed incident, or
    with `created` the new record in that serializer, 201."""
    responses = ACTION_RESPONSES if created is None else {201: created, **NOT_FOUND}

    def decorate(act: IncidentAct) -> ActionView:
        def view(self: "IncidentViewSet", request: Request, number: str) -> Response:
            incident = self._incident(number)
            data = validated(body, request.data)
            result = act(self, incident, api_user(request), data)
            if created is not None:
                return Response(created(result).data, status=status.HTTP_201_CREATED)
            return self._render(cast(Incident, result))

        # Not functools.wraps, which would give the view act's signature. DRF names the action
        # (its route and URL name) after __name__; the schema's description falls back to __doc__.
        view.__name__, view.__qualname__ = act.__name__, act.__qualname__
        view.__doc__ = act.__doc__
        routed = action(detail=True, methods=["post"], url_path=url_path)(view)
        return extend_schema(
            summary=summary,
            description=description,
            parameters=[NUMBER_PARAMETER],
            request=body,
            responses=responses,
        )(routed)

    return decorate


@extend_schema_view(
    list=extend_schema(
        summary="List incidents",
        description="Open incidents first, newest first within each group.",
        parameters=LIST_PARAMETERS,
        responses=IncidentSerializer,
    ),
    create=extend_schema(
        summary="Declare an incident",
        request=IncidentCreateSerializer,
        responses={201: IncidentSerializer},
    ),
    retrieve=extend_schema(
        summary="Get an incident",
        parameters=[NUMBER_PARAMETER],
        responses={200: IncidentSerializer, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Edit an incident",
        description=(
            "Edits details; `severity` and `status` are changed as their actions do. "
            "All of it happens, or none of it."
        ),
        parameters=[NUMBER_PARAMETER],
        request=IncidentUpdateSerializer,
        responses=ACTION_RESPONSES,
    ),
)
class IncidentViewSet(viewsets.GenericViewSet[Incident]):
    # Only tells the schema generator the model: every read goes through the selectors, which
    # apply the caller's visibility, so an accidental get_object() finds nothing.
    queryset = Incident.objects.none()
    serializer_class = IncidentSerializer
    lookup_field = "number"
    # The column is a 32-bit integer, so longer numbers cannot exist: they do not even route.
    lookup_value_regex = r"[0-9]{1,9}"

    def _incident(self, number: str) -> Incident:
        return _incident_for(self.request, number)

    def _render(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        prefetch_related_objects([incident], *INCIDENT_PREFETCH)
        data = IncidentSerializer(incident, context=self.get_serializer_context()).data
        return Response(data, status=code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = IncidentFilterSerializer.parse(request.query_params)
        incidents: QuerySet[Incident] = selectors.incident_list(
            user=api_user(request), filters=filters
        ).prefetch_related(*INCIDENT_PREFETCH)
        page = self.paginate_queryset(incidents)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = validated(IncidentCreateSerializer, request.data)
        incident = services.incident_declare(actor=api_user(request), source=Source.API, **data)
        response = self._render(incident, status.HTTP_201_CREATED)
        response["Location"] = reverse(
            "incidents-api:incident-detail", kwargs={"number": incident.number}
        )
        return response

    def retrieve(self, request: Request, number: str) -> Response:
        return self._render(self._incident(number))

    def partial_update(self, request: Request, number: str) -> Response:
        actor = api_user(request)
        incident = self._incident(number)
        data = validated(IncidentUpdateSerializer, request.data)
        severity: Severity | None = data.pop("severity", None)
        new_status: str | None = data.pop("status", None)
        new_services: list[Service] | None = data.pop("services", None)
        expected_severity: Severity | None = data.pop("expected_severity", None)
        expected_status: str | None = data.pop("expected_status", None)
        # One transaction, so a refused severity or status change also undoes the edits.
        # Details go first even when empty: that call checks the caller may edit at all.
        with transaction.atomic():
            incident = services.incident_update_details(
                incident=incident, actor=actor, source=Source.API, services=new_services, **data
            )
            # PATCH sets a state: repeating the current severity or status is not a change.
            if severity is not None and severity.pk != incident.severity_id:
                incident = services.incident_set_severity(
                    incident=incident,
                    actor=actor,
                    severity=severity,
                    source=Source.API,
                    expected_severity=expected_severity,
                )
            if new_status is not None and new_status != incident.status:
                incident = services.incident_set_status(
                    incident=incident,
                    actor=actor,
                    status=Status(new_status),
                    source=Source.API,
                    expected_status=expected_status,
                )
        return self._render(incident)

    @incident_action(
        summary="Acknowledge an incident",
        description=(
            "Idempotent: an incident already acknowledged or further along is answered "
            "unchanged. A resolved incident is 409."
        ),
        # No fields, but a body that is not JSON or carries fields is still refused.
        body=EmptySerializer,
    )
    def acknowledge(self, incident: Incident, actor: User, data: Any) -> Incident:
        return services.incident_acknowledge(incident=incident, actor=actor, source=Source.API)

    @incident_action(
        summary="Change an incident's status",
        description="Forward moves may skip steps; among investigating, identified and "
        "monitoring an incident also moves back (it relapsed); nothing goes back to detected or "
        "acknowledged. `resolved` resolves with `message` as the resolution.",
        body=StatusChangeSerializer,
        url_path="status",
    )
    def set_status(self, incident: Incident, actor: User, data: Any) -> Incident:
        return services.incident_set_status(
            incident=incident,
            actor=actor,
            status=data["status"],
            message=data.get("message", ""),
            source=Source.API,
            expected_status=data.get("expected_status"),
        )

    @incident_action(
        summary="Change an incident's severity", body=SeverityChangeSerializer, url_path="severity"
    )
    def set_severity(self, incident: Incident, actor: User, data: Any) -> Incident:
        return services.incident_set_severity(
            incident=incident,
            actor=actor,
            severity=data["severity"],
            source=Source.API,
            expected_severity=data.get("expected_severity"),
        )

    @incident_action(
        summary="Assign an incident role",
        description="Commander, communications lead, technical lead and scribe have one holder, "
        "who is replaced; subject experts may be many.",
        body=RoleAssignSerializer,
        url_path="roles",
    )
    def assign_role(self, incident: Incident, actor: User, data: Any) -> Incident:
        assignment = services.incident_assign_role(
            incident=incident,
            actor=actor,
            role=RoleKind(data["role"]),
            user=data["user"],
            source=Source.API,
            expected_holder=data.get("expected_holder", services.UNCHECKED),
        )
        return assignment.incident

    @incident_action(
        summary="Add a note to the timeline",
        body=NoteCreateSerializer,
        url_path="notes",
        created=TimelineEventSerializer,
    )
    def add_note(self, incident: Incident, actor: User, data: Any) -> TimelineEvent:
        return services.incident_add_note(
            incident=incident, actor=actor, text=data["text"], source=Source.API
        )

    @incident_action(
        summary="Post a status update",
        body=StatusUpdateCreateSerializer,
        url_path="updates",
        created=StatusUpdateSerializer,
    )
    def post_update(self, incident: Incident, actor: User, data: Any) -> StatusUpdate:
        return services.incident_post_update(
            incident=incident,
            actor=actor,
            message=data["message"],
            public=data.get("public", False),
            source=Source.API,
        )

    @incident_action(summary="Resolve an incident", body=ResolveSerializer)
    def resolve(self, incident: Incident, actor: User, data: Any) -> Incident:
        return services.incident_resolve(
            incident=incident,
            actor=actor,
            resolution=data.get("resolution", ""),
            source=Source.API,
            expected_status=data.get("expected_status"),
        )

    @incident_action(
        summary="Reopen a resolved incident",
        description="The incident goes back to investigating.",
        body=ReopenSerializer,
    )
    def reopen(self, incident: Incident, actor: User, data: Any) -> Incident:
        return services.incident_reopen(
            incident=incident, actor=actor, reason=data.get("reason", ""), source=Source.API
        )


@extend_schema_view(
    get=extend_schema(
        summary="An incident's timeline",
        description="Oldest first.",
        parameters=[NUMBER_PARAMETER],
        responses={
            200: TimelineEventSerializer,
            **problems(404, _404=f"{INCIDENT_404} {PAGE_NOT_FOUND}"),
        },
    )
)
class IncidentTimeline(generics.ListAPIView[TimelineEvent]):
    serializer_class = TimelineEventSerializer
    # As on IncidentViewSet: for the schema only; get_queryset checks visibility.
    queryset = TimelineEvent.objects.none()

    def get_queryset(self) -> QuerySet[TimelineEvent]:
        return selectors.incident_timeline(
            incident=_incident_for(self.request, self.kwargs["number"])
        )


def _catalog_schema(summary: str, serializer: type[serializers.Serializer[Any]]) -> Any:
    return extend_schema_view(get=extend_schema(summary=summary, responses=serializer))


@_catalog_schema("List severities", SeveritySerializer)
class SeverityList(generics.ListAPIView[Severity]):
    queryset = Severity.objects.all()
    serializer_class = SeveritySerializer


@_catalog_schema("List services", ServiceSerializer)
class ServiceList(generics.ListAPIView[Service]):
    queryset = Service.objects.select_related("team")
    serializer_class = ServiceSerializer


@_catalog_schema("List teams", TeamSerializer)
class TeamList(generics.ListAPIView[Team]):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer


@_catalog_schema("List users", UserSerializer)
class UserList(generics.ListAPIView[User]):
    queryset = User.objects.filter(is_active=True).order_by("username")
    serializer_class = UserSerializer
