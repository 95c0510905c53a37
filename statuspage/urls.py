from django.urls import URLPattern, URLResolver, path

from statuspage import views_subscribe

app_name = "statuspage"

urlpatterns: list[URLPattern | URLResolver] = []

urlpatterns += [
    path("subscribe/", views_subscribe.subscribe, name="subscribe"),
    path(
        "subscribe/confirm/<str:token>/",
        views_subscribe.subscribe_confirm,
        name="subscribe_confirm",
    ),
    path("unsubscribe/<str:token>/", views_subscribe.unsubscribe, name="unsubscribe"),
]
