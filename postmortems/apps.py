from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems"

    def ready(self) -> None:
        from incidents.panels import register_panel
        from postmortems import panels, subscribers

        subscribers.connect()
        register_panel(panels.TEMPLATE, panels.incident_postmortem_context)
