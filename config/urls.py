from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # First: everyone reloads the public status page during an outage, and each pattern
    # tried before it costs every one of those requests (about a fifth of a cached hit).
    path("status/", include("statuspage.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    # /healthz, /readyz, /metrics, /ops/health/, /api/schema/, /api/docs/
    path("", include("ops.urls")),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("oncall.api.urls")),
    path("api/v1/", include("audit.api.urls")),
    path("api/v1/", include("postmortems.api.urls")),
    path("api/v1/", include("reports.api.urls")),
    path("", include("oncall.urls")),
    path("", include("alerts.urls")),
    path("audit/", include("audit.urls")),
    path("", include("chatops.urls")),
    path("", include("postmortems.urls")),
    path("", include("reports.urls")),
    path("", include("incidents.urls")),
]

# Problem details under /api/, Django's pages elsewhere.
handler404 = "ops.problems.page_not_found"
handler500 = "ops.problems.server_error"
