from django.urls import path

from reports.api import views

app_name = "reports-api"

urlpatterns = [
    path("reports/monthly/<str:month>/", views.MonthlyReportView.as_view(), name="monthly"),
]
