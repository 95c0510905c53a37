from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Percentiles on SQLite (the embedded setup); PostgreSQL has percentile_cont built in.
        from reports import aggregates

        aggregates.connect_sqlite_functions()
        from reports import home  # the home page's panel (incidents.boxes)

        home.register()
