"""The integrations API: parse, call a selector or a service, render.

Services and selectors check permissions; their PermissionDenied, ValidationError and
DoesNotExist become 403, 400 and 404 problem details in ops.problems.
"""

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.requests import api_user
from alerts import selectors
from alerts.api.serializers import (
    IntegrationCreateSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    IntegrationWithTokenSerializer,
)
from alerts.models import Integration
from alerts.services import integrations
from ops.api.schema import problems
from ops.api.serializers import validated

TAGS = ["integrations"]


def _with_token(integration: Integration, token: str, code: int) -> Response:
    data = IntegrationWithTokenSerializer(integration, context={"token": token}).data
    return Response(data, status=code)


@extend_schema_view(
    get=extend_schema(
        tags=TAGS,
        summary="List integrations",
        description="Responders, managers and admins. Tokens never appear, only their prefix.",
        # Viewers may not see integrations.
        responses={200: IntegrationSerializer, **problems(403)},
    )
)
class IntegrationList(generics.ListAPIView[Integration]):
    # For the schema only: reads go through the selector, which checks the caller's role.
    queryset = Integration.objects.none()
    serializer_class = IntegrationSerializer

    def get_queryset(self) -> QuerySet[Integration]:
        return selectors.integration_list(user=api_user(self.request))

    @extend_schema(
        tags=TAGS,
        summary="Create an integration",
        description="Managers and admins. The answer carries the token and, for a generic "
        "webhook, the URL with it: neither is shown again.",
        request=IntegrationCreateSerializer,
        responses={201: IntegrationWithTokenSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(IntegrationCreateSerializer, request.data)
        integration, token = integrations.integration_create(actor=api_user(request), **data)
        response = _with_token(integration, token, status.HTTP_201_CREATED)
        response["Location"] = reverse(
            "alerts-api:integration-detail", kwargs={"pk": integration.pk}
        )
        return response


class IntegrationDetail(generics.GenericAPIView[Integration]):
    queryset = Integration.objects.none()
    serializer_class = IntegrationSerializer

    @extend_schema(
        tags=TAGS,
        summary="Get an integration",
        responses={200: IntegrationSerializer, **problems(403)},
    )
    def get(self, request: Request, pk: int) -> Response:
        integration = selectors.integration_get_for_user(user=api_user(request), pk=pk)
        return Response(IntegrationSerializer(integration).data)

    @extend_schema(
        tags=TAGS,
        summary="Change an integration's settings",
        description="Managers and admins. Kind and team are fixed; all changes apply, or none.",
        request=IntegrationUpdateSerializer,
        responses=IntegrationSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        actor = api_user(request)
        integration = selectors.integration_get_for_user(user=actor, pk=pk)
        data = validated(IntegrationUpdateSerializer, request.data)
        integration = integrations.integration_update(integration=integration, actor=actor, **data)
        return Response(IntegrationSerializer(integration).data)


class IntegrationRotateToken(generics.GenericAPIView[Integration]):
    queryset = Integration.objects.none()
    serializer_class = IntegrationWithTokenSerializer

    @extend_schema(
        tags=TAGS,
        summary="Replace an integration's token",
        description="Managers and admins. The old token stops working at once; the new one is "
        "in this answer only.",
        request=None,
        responses=IntegrationWithTokenSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = api_user(request)
        integration = selectors.integration_get_for_user(user=actor, pk=pk)
        token = integrations.integration_rotate_token(integration=integration, actor=actor)
        return _with_token(integration, token, status.HTTP_200_OK)
