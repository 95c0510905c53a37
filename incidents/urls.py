from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("incidents/new/", views.incident_declare, name="declare"),
    path("incidents/<int:number>/", views.incident_detail, name="detail"),
    path("incidents/<int:number>/live/", views.incident_live, name="live"),
    path("incidents/<int:number>/acknowledge/", views.incident_acknowledge, name="acknowledge"),
    path("incidents/<int:number>/status/", views.incident_status, name="status"),
    path("incidents/<int:number>/severity/", views.incident_severity, name="severity"),
    path("incidents/<int:number>/roles/", views.incident_role, name="role"),
    path("incidents/<int:number>/notes/", views.incident_note, name="note"),
    path("incidents/<int:number>/updates/", views.incident_update, name="update"),
    path("incidents/<int:number>/resolve/", views.incident_resolve, name="resolve"),
    path("incidents/<int:number>/reopen/", views.incident_reopen, name="reopen"),
    path(
        "incidents/<int:number>/checklist/<int:item_id>/",
        views.checklist_item_toggle,
        name="checklist-item",
    ),
    path(
        "incidents/<int:number>/timeline/<int:event_id>/highlight/",
        views.timeline_event_highlight,
        name="highlight",
    ),
    path("teams/", views.team_list, name="team-list"),
    path("teams/<slug:slug>/", views.team_detail, name="team-detail"),
]
