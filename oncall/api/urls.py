from django.urls import path

from oncall.api import views

app_name = "oncall-api"

urlpatterns = [
    path("schedules/", views.ScheduleList.as_view(), name="schedule-list"),
    path("schedules/<int:pk>/", views.ScheduleDetail.as_view(), name="schedule-detail"),
    path("schedules/<int:pk>/oncall/", views.ScheduleOnCall.as_view(), name="schedule-oncall"),
    path("schedules/<int:pk>/shifts/", views.ScheduleShifts.as_view(), name="schedule-shifts"),
    path(
        "schedules/<int:pk>/overrides/",
        views.ScheduleOverrides.as_view(),
        name="schedule-overrides",
    ),
    path("escalation-policies/", views.PolicyList.as_view(), name="policy-list"),
]
