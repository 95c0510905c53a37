from django.urls import path

from audit.api import views

app_name = "audit-api"

urlpatterns = [path("audit/", views.EntryList.as_view(), name="entry-list")]
