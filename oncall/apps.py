from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On call and paging"

    def ready(self) -> None:
        from oncall import subscribers

        subscribers.connect()
