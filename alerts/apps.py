from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import panels
        from incidents.panels import register_panel

        register_panel(panels.TEMPLATE, panels.incident_alerts_context)
