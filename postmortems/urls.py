from django.urls import URLPattern

from postmortems.views import action_items, document, meetings, templates, workflow

app_name = "postmortems"

urlpatterns: list[URLPattern] = [
    *document.urlpatterns,
    *workflow.urlpatterns,
    *templates.urlpatterns,
    *action_items.urlpatterns,
    *meetings.urlpatterns,
]
