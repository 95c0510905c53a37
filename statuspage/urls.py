from django.urls import URLPattern, URLResolver, path

from statuspage import api, feeds, views, views_staff, views_subscribe

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.page, name="page"),
    path("history/", views.history, name="history"),
    path("history/<str:month>/", views.history, name="history_month"),
    path("incidents/<str:code>/", views.incident, name="incident"),
    # Atlassian Statuspage's public API v2 (statuspage.api).
    path("api/v2/summary.json", api.summary, name="api-summary"),
    path("api/v2/status.json", api.status, name="api-status"),
    path("api/v2/components.json", api.components, name="api-components"),
    path("api/v2/incidents.json", api.incidents, name="api-incidents"),
    path(
        "api/v2/incidents/unresolved.json",
        api.incidents_unresolved,
        name="api-incidents-unresolved",
    ),
    path("api/v2/scheduled-maintenances.json", api.maintenances, name="api-maintenances"),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        api.maintenances_upcoming,
        name="api-maintenances-upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json",
        api.maintenances_active,
        name="api-maintenances-active",
    ),
    path("history.atom", feeds.HistoryAtomFeed(), name="history-atom"),
    path("history.rss", feeds.HistoryRssFeed(), name="history-rss"),
    path("manage/", views_staff.manage, name="manage"),
    path("manage/maintenance/", views_staff.maintenance_create, name="maintenance-create"),
    path(
        "manage/maintenance/<str:code>/cancel/",
        views_staff.maintenance_cancel,
        name="maintenance-cancel",
    ),
    path(
        "manage/maintenance/<str:code>/complete/",
        views_staff.maintenance_complete,
        name="maintenance-complete",
    ),
    path("manage/components/<str:code>/", views_staff.component_edit, name="component-edit"),
    path("manage/groups/", views_staff.group_create, name="group-create"),
    path("manage/groups/<str:code>/", views_staff.group_edit, name="group-edit"),
    path("manage/groups/<str:code>/delete/", views_staff.group_delete, name="group-delete"),
    path(
        "manage/incidents/<int:number>/public-update/",
        views_staff.incident_public_update,
        name="incident-public-update",
    ),
    path("subscribe/", views_subscribe.subscribe, name="subscribe"),
    path(
        "subscribe/confirm/<str:token>/",
        views_subscribe.subscribe_confirm,
        name="subscribe_confirm",
    ),
    path("unsubscribe/<str:token>/", views_subscribe.unsubscribe, name="unsubscribe"),
]
