from django.urls import path

from alerts import web

app_name = "integrations"

urlpatterns = [
    path("", web.integration_list, name="list"),
    path("new/", web.integration_create, name="create"),
    path("<int:pk>/", web.integration_detail, name="detail"),
    path("<int:pk>/edit/", web.integration_edit, name="edit"),
    path("<int:pk>/active/", web.integration_set_active, name="active"),
    path("<int:pk>/rotate-token/", web.integration_rotate_token, name="rotate"),
]
