from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.selectors import incident_counts_by_status_and_severity
        from ops.metrics import register_gauge

        register_gauge(
            "incidents",
            name="tocsin_incidents",
            documentation="Incidents by status and severity.",
            labels=("status", "severity"),
            read=incident_counts_by_status_and_severity,
        )
