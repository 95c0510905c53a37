from django.urls import URLPattern, URLResolver, path

from statuspage import views_staff

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = [
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
]
