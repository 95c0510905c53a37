from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run`. It depends on every app; no app depends on it."""

    name = "demo"
    verbose_name = "Demo data"
