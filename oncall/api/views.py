"""The on-call API: schedules, who is on call, shifts, overrides and escalation policies.

Any signed-in user may read, as on the web pages; overrides are for responders of the
schedule's team (oncall.selectors.can_override), checked by the service. Its PermissionDenied
and ValidationError become 403 and 400 problem details in ops.problems, and an unknown
schedule is 404.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.requests import api_user
from oncall import schedules, selectors
from oncall.api.serializers import (
    OnCallQuerySerializer,
    OnCallSerializer,
    OverrideCreateSerializer,
    OverrideSerializer,
    PolicySerializer,
    ScheduleSerializer,
    ShiftsQuerySerializer,
    ShiftsSerializer,
)
from oncall.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from oncall.selectors import LoadedSchedule, on_call_run, schedules_loaded
from oncall.services import rotations
from ops.api.schema import problems
from ops.api.serializers import validated

TAGS = ["on call"]


NOT_FOUND = problems(404, _404="No such schedule.")


ID_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The schedule's id."
)


def _schedule(pk: int) -> Schedule:
    try:
        return Schedule.objects.select_related("team").get(pk=pk)
    except Schedule.DoesNotExist as exc:
        raise exceptions.NotFound("No such schedule.") from exc


def _render_schedules(loaded: list[LoadedSchedule], now: datetime) -> Any:
    """Loaded with overrides from `now`: only "who is on now" is computed, not shifts ahead."""
    on_call: dict[int, User | None] = {}
    layers: dict[int, list[ScheduleLayer]] = defaultdict(list)
    for item in loaded:
        user_id = schedules.who_is_on_call(item.spec, now)
        on_call[item.schedule.pk] = item.users.get(user_id) if user_id is not None else None
        layers[item.schedule.pk] = [
            layer for layer in item.layers if layer.ends_at is None or layer.ends_at > now
        ]
    context = {"on_call": on_call, "layers": layers}
    return ScheduleSerializer([item.schedule for item in loaded], many=True, context=context).data


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        summary="List schedules",
        description="With their current layers and who is on call now. A fixed number of "
        "queries, however many schedules.",
        responses=ScheduleSerializer,
    )
)
class ScheduleList(generics.ListAPIView[Schedule]):
    queryset = Schedule.objects.all()
    serializer_class = ScheduleSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        api_user(request)
        now = timezone.now()
        page = self.paginate_queryset(self.get_queryset())
        ids = [schedule.pk for schedule in page or []]
        # The page's schedules again, now with layers and the overrides in force: the page
        # query only paginates, so the loaded set keeps its constant number of queries.
        loaded = schedules_loaded(Schedule.objects.filter(pk__in=ids), start=now, end=now)
        by_id = {item.schedule.pk: item for item in loaded}
        ordered = [by_id[pk] for pk in ids if pk in by_id]
        return self.get_paginated_response(_render_schedules(ordered, now))


class ScheduleDetail(generics.GenericAPIView[Schedule]):
    queryset = Schedule.objects.none()
    serializer_class = ScheduleSerializer

    @extend_schema(
        tags=TAGS,
        summary="Get a schedule",
        parameters=[ID_PARAMETER],
        responses={200: ScheduleSerializer, **NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        api_user(request)
        now = timezone.now()
        loaded = schedules_loaded(Schedule.objects.filter(pk=pk), start=now, end=now)
        if not loaded:
            raise exceptions.NotFound("No such schedule.")
        return Response(_render_schedules(loaded, now)[0])


class ScheduleOnCall(generics.GenericAPIView[Schedule]):
    queryset = Schedule.objects.none()
    serializer_class = OnCallSerializer

    @extend_schema(
        tags=TAGS,
        summary="Who is on call",
        description="At `at` (default now): overrides first, else the highest layer with "
        "someone on call.",
        parameters=[ID_PARAMETER, OnCallQuerySerializer],
        responses={200: OnCallSerializer, **NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        api_user(request)
        schedule = _schedule(pk)
        at: datetime = (
            validated(OnCallQuerySerializer, request.query_params).get("at") or timezone.now()
        )
        spec = selectors.schedule_spec(schedule, start=at, end=at + schedules.NEXT_SHIFT_HORIZON)
        user_id, until = on_call_run(spec, at)
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        body = {"schedule": schedule.pk, "at": at, "user": user, "until": until}
        return Response(OnCallSerializer(body).data)


class ScheduleShifts(generics.GenericAPIView[Schedule]):
    queryset = Schedule.objects.none()
    serializer_class = ShiftsSerializer

    @extend_schema(
        tags=TAGS,
        summary="The final schedule over a window",
        description="Who is on call from `start` to `end` (at most 90 days), as contiguous "
        "pieces; a gap between pieces means nobody.",
        parameters=[ID_PARAMETER, ShiftsQuerySerializer],
        responses={200: ShiftsSerializer, **NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        api_user(request)
        schedule = _schedule(pk)
        window = validated(ShiftsQuerySerializer, request.query_params)
        start, end = window["start"], window["end"]
        spec = selectors.schedule_spec(schedule, start=start, end=end)
        pieces = schedules.shifts(spec, start, end)
        people = User.objects.in_bulk({piece.user_id for piece in pieces})
        body = {
            "schedule": schedule.pk,
            "start": start,
            "end": end,
            "shifts": [
                {
                    "user": people.get(piece.user_id),
                    "start": piece.start,
                    "end": piece.end,
                    "layer": piece.layer_id,
                    "override": piece.override_id,
                }
                for piece in pieces
            ],
        }
        return Response(ShiftsSerializer(body).data)


class ScheduleOverrides(generics.GenericAPIView[ScheduleOverride]):
    queryset = ScheduleOverride.objects.none()
    serializer_class = OverrideSerializer

    @extend_schema(
        tags=TAGS,
        summary="Add an override",
        description="Puts `user` on call from `start` to `end` (at most 90 days), whatever the "
        "layers say. Managers and admins on any schedule; responders on their own teams' "
        "schedules and on those whose rotations they take part in. Whoever was on call in the "
        "span, and `user`, are sent a notice.",
        parameters=[ID_PARAMETER],
        request=OverrideCreateSerializer,
        responses={201: OverrideSerializer, **NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = api_user(request)
        schedule = _schedule(pk)
        data = validated(OverrideCreateSerializer, request.data)
        override = rotations.override_create(
            actor=actor,
            schedule=schedule,
            user=data["user"],
            start=data["start"],
            end=data["end"],
            note=data.get("note", ""),
        )
        return Response(OverrideSerializer(override).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        summary="List escalation policies",
        description="With their levels in order and each level's targets.",
        responses=PolicySerializer,
    )
)
class PolicyList(generics.ListAPIView[EscalationPolicy]):
    serializer_class = PolicySerializer

    def get_queryset(self) -> QuerySet[EscalationPolicy]:
        api_user(self.request)
        targets = EscalationTarget.objects.select_related("user", "team").order_by("pk")
        levels = EscalationLevel.objects.prefetch_related(Prefetch("targets", queryset=targets))
        return EscalationPolicy.objects.select_related("team").prefetch_related(
            Prefetch("levels", queryset=levels)
        )
