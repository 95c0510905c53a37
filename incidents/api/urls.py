from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from incidents.api import views

app_name = "incidents-api"

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = [
    *router.urls,
    re_path(
        rf"^incidents/(?P<number>{views.IncidentViewSet.lookup_value_regex})/timeline/$",
        views.IncidentTimeline.as_view(),
        name="incident-timeline",
    ),
    path("severities/", views.SeverityList.as_view(), name="severity-list"),
    path("services/", views.ServiceList.as_view(), name="service-list"),
    path("teams/", views.TeamList.as_view(), name="team-list"),
    path("users/", views.UserList.as_view(), name="user-list"),
]
