from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"

    def ready(self) -> None:
        from incidents.panels import register_panel
        from statuspage import panels, subscribers

        subscribers.connect()
        register_panel(panels.TEMPLATE, panels.incident_statuspage_context)
