from django.urls import path

from alerts import views

app_name = "hooks"

urlpatterns = [
    path("alertmanager/", views.alertmanager_webhook, name="alertmanager"),
    path("alertmanager/<str:token>", views.alertmanager_webhook, name="alertmanager-token"),
    path("events/v2/enqueue", views.events_v2_enqueue, name="events-v2"),
    path("generic/", views.generic_webhook, name="generic"),
    # For senders that cannot set a header; logged paths hide the token (ops/logging.py).
    path("generic/<str:token>", views.generic_webhook, name="generic-token"),
]
