"""Integration pages under /integrations/, inbound webhooks under /hooks/; the API is
alerts-api (alerts/api/urls.py), mounted under /api/v1/ with the other apps' APIs."""

from django.urls import path

from alerts import hooks, views
from alerts.models import IntegrationKind

app_name = "alerts"

ALERTMANAGER = {"kind": IntegrationKind.ALERTMANAGER}
GENERIC = {"kind": IntegrationKind.GENERIC}

urlpatterns = [
    path("hooks/alertmanager/", hooks.webhook, ALERTMANAGER, name="hook-alertmanager"),
    path(
        "hooks/alertmanager/<str:token>",
        hooks.webhook,
        ALERTMANAGER,
        name="hook-alertmanager-token",
    ),
    path("hooks/events/v2/enqueue", hooks.events_v2_enqueue, name="hook-events-v2"),
    path("hooks/generic/", hooks.webhook, GENERIC, name="hook-generic"),
    # For senders that cannot set a header; logged paths hide the token (ops/logging.py).
    path("hooks/generic/<str:token>", hooks.webhook, GENERIC, name="hook-generic-token"),
    path("integrations/", views.integration_list, name="integration-list"),
    path("integrations/new/", views.integration_create, name="integration-create"),
    path("integrations/<int:pk>/", views.integration_detail, name="integration-detail"),
    path("integrations/<int:pk>/edit/", views.integration_edit, name="integration-edit"),
    path("integrations/<int:pk>/active/", views.integration_set_active, name="integration-active"),
    path(
        "integrations/<int:pk>/rotate-token/",
        views.integration_rotate_token,
        name="integration-rotate-token",
    ),
]
