from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Percentiles on SQLite (the embedded setup); PostgreSQL has percentile_cont built in.
        from reports import aggregates, load, prometheus

        aggregates.connect_sqlite_functions()
        # Local time in a person's zone on SQLite, which has no time zone database.
        load.connect_sqlite_functions()
        prometheus.connect()
