from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from ops import views as ops_views
from ops.api.views import SchemaView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from its own URL and our template
    # puts a nonce on its inline style: the strict CSP refuses inline code otherwise.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("oncall.api.urls")),
    path("api/v1/", include("audit.api.urls")),
    path("", include("oncall.urls")),
    path("", include("oncall.web_urls")),
    path("me/", include("oncall.profile_urls")),
    path("hooks/", include("alerts.urls")),
    path("integrations/", include("alerts.web_urls")),
    path("audit/", include("audit.urls")),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("ops/health/", ops_views.health, name="ops-health"),
    path("", include("incidents.urls")),
]

# Problem details under /api/, Django's pages elsewhere.
handler404 = "ops.problems.page_not_found"
handler500 = "ops.problems.server_error"
