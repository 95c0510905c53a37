from django.urls import URLPattern, URLResolver

app_name = "oncall-web"

urlpatterns: list[URLPattern | URLResolver] = []
