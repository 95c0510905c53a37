from django.urls import path, re_path

from incidents.api.views import IncidentViewSet
from postmortems.api import views

app_name = "postmortems-api"

INCIDENT = rf"^incidents/(?P<number>{IncidentViewSet.lookup_value_regex})"

urlpatterns = [
    re_path(
        rf"{INCIDENT}/postmortem/$", views.IncidentPostmortem.as_view(), name="incident-postmortem"
    ),
    re_path(
        rf"{INCIDENT}/postmortem/transitions/$",
        views.PostmortemTransitions.as_view(),
        name="postmortem-transitions",
    ),
    path("postmortems/", views.PostmortemList.as_view(), name="postmortem-list"),
    path("action-items/", views.ActionItemList.as_view(), name="action-item-list"),
    path("action-items/report/", views.ActionItemReport.as_view(), name="action-item-report"),
    path("action-items/<int:pk>/", views.ActionItemDetail.as_view(), name="action-item-detail"),
]
