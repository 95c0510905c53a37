from django.urls import URLPattern, URLResolver

app_name = "oncall-api"

urlpatterns: list[URLPattern | URLResolver] = []
