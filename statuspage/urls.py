from django.urls import URLPattern, URLResolver

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = []
