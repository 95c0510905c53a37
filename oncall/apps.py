from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On call and paging"

    def ready(self) -> None:
        from oncall import subscribers

        subscribers.connect()
        from incidents.panels import register_panel
        from oncall import panels

        register_panel(panels.TEMPLATE, panels.incident_paging_context)
