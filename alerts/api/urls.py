from django.urls import path

from alerts.api import views

app_name = "alerts-api"

urlpatterns = [
    path("integrations/", views.IntegrationList.as_view(), name="integration-list"),
    path("integrations/<int:pk>/", views.IntegrationDetail.as_view(), name="integration-detail"),
    path(
        "integrations/<int:pk>/rotate-token/",
        views.IntegrationRotateToken.as_view(),
        name="integration-rotate-token",
    ),
]
