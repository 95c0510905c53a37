from django.urls import path

from alerts import views

app_name = "hooks"

urlpatterns = [
    path("alertmanager/", views.alertmanager_webhook, name="alertmanager"),
    path("alertmanager/<str:token>", views.alertmanager_webhook, name="alertmanager-token"),
    path("events/v2/enqueue", views.events_v2_enqueue, name="events-v2"),
    path("generic/<str:token>", views.generic_webhook, name="generic"),
]
