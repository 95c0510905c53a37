from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    # The current month in the organisation's zone.
    path("reports/", views.monthly_current, name="monthly_current"),
    path("reports/monthly/", views.monthly_current),
    # <str:…>: a malformed month gets a 400 that says what a month looks like, not a bare 404.
    path("reports/monthly/<str:month>/", views.monthly, name="monthly"),
    path("reports/monthly/<str:month>/incidents.csv", views.monthly_csv, name="monthly_csv"),
]
