from django.urls import path
from drf_spectacular.views import SpectacularSwaggerSplitView

from ops import views
from ops.api.views import SchemaView

app_name = "ops"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("ops/health/", views.health, name="health"),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL and our template
    # puts a nonce on its inline style: the strict CSP refuses inline code otherwise.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="ops:api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
]
