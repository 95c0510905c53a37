from django.urls import path

from oncall import feeds, web

app_name = "oncall-web"

urlpatterns = [
    path("schedules/", web.schedule_list, name="schedule-list"),
    path("schedules/new", web.schedule_create, name="schedule-create"),
    path("schedules/my-feed/rotate", web.my_feed_rotate, name="my-feed-rotate"),
    path("schedules/<int:pk>/", web.schedule_detail, name="schedule-detail"),
    path("schedules/<int:pk>/edit", web.schedule_edit, name="schedule-edit"),
    path("schedules/<int:pk>/delete", web.schedule_delete, name="schedule-delete"),
    path("schedules/<int:pk>/rotate-feed", web.schedule_rotate_feed, name="schedule-rotate-feed"),
    path("schedules/<int:pk>/layers/new", web.layer_create, name="layer-create"),
    path("schedules/<int:pk>/layers/<int:layer_id>/edit", web.layer_change, name="layer-change"),
    path("schedules/<int:pk>/layers/<int:layer_id>/end", web.layer_end, name="layer-end"),
    path("schedules/<int:pk>/overrides/new", web.override_create, name="override-create"),
    path(
        "schedules/<int:pk>/overrides/<int:override_id>/delete",
        web.override_delete,
        name="override-delete",
    ),
    path("policies/", web.policy_list, name="policy-list"),
    path("policies/new", web.policy_create, name="policy-create"),
    path("policies/<int:pk>/", web.policy_detail, name="policy-detail"),
    path("policies/<int:pk>/edit", web.policy_edit, name="policy-edit"),
    path("policies/<int:pk>/delete", web.policy_delete, name="policy-delete"),
    path("oncall/now", web.oncall_now, name="oncall-now"),
    path("oncall/teams/<slug:slug>/now", web.team_oncall, name="team-oncall"),
    # No login: the token in the address is the secret, as calendar apps cannot sign in.
    path("oncall/schedules/<str:token>.ics", feeds.schedule_feed, name="schedule-feed"),
    path("oncall/users/<str:token>.ics", feeds.user_feed, name="user-feed"),
]
