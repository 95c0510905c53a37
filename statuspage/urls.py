from django.urls import URLPattern, URLResolver, path

from statuspage import views

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.page, name="page"),
    path("history/", views.history, name="history"),
    path("history/<str:month>/", views.history, name="history_month"),
    path("incidents/<str:code>/", views.incident, name="incident"),
]
