"""The product's URLs plus the benchmarks' floor views; used by benchmarks.settings."""

from django.urls import URLPattern, URLResolver, include, path

from benchmarks.floor import floor_insert, noop
from config import urls as product_urls

urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/floor", floor_insert, name="bench-floor"),
    path("bench/noop", noop, name="bench-noop"),
    # The same view where the public status page's short middleware stack serves it
    # (config.wsgi.is_public): the stricter floor for benchmarks.statuspage.
    path("status/api/bench-noop", noop, name="bench-noop-public"),
    # Not namespaced: every product URL keeps its name.
    path("", include("config.urls")),
]

handler404 = product_urls.handler404
handler500 = product_urls.handler500
