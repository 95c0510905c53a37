from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from reports import aggregates, checks, home, load, prometheus  # noqa: F401 (checks register)

        # Percentiles on SQLite (the embedded setup); PostgreSQL has percentile_cont built in.
        aggregates.connect_sqlite_functions()
        # Local time in a person's zone on SQLite, which has no time zone database.
        load.connect_sqlite_functions()
        # MTTA and MTTR histograms on /metrics (ops.metrics.register_collector).
        prometheus.connect()
        # The home page's panel (incidents.boxes).
        home.register()
