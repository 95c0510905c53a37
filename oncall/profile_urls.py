from django.urls import URLPattern, URLResolver

app_name = "paging-profile"

urlpatterns: list[URLPattern | URLResolver] = []
