from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"

    def ready(self) -> None:
        from incidents.panels import register_panel
        from ops.problems import register_not_found
        from statuspage import panels, subscribers, views

        # The hosted Statuspage push registers its settings' check, and its task (outside
        # tasks.py, where Celery's autodiscovery would not look).
        from statuspage.hosted import checks, tasks  # noqa: F401

        subscribers.connect()
        register_panel(panels.TEMPLATE, panels.incident_statuspage_context)
        # An unknown public address answers the page's own cookie-less 404.
        register_not_found(views.public_not_found)
