"""The incident page's alerts panel, registered with incidents.panels in AlertsConfig.ready()."""

from typing import Any

from django.http import HttpRequest

from alerts import selectors
from incidents.models import Incident

TEMPLATE = "alerts/_incident_alerts.html"


def incident_alerts_context(incident: Incident, request: HttpRequest) -> dict[str, Any] | None:
    """One query: the newest alerts, each carrying the total. Nothing when there is none."""
    alerts = selectors.incident_alerts(incident=incident)
    if not alerts:
        return None
    total = alerts[0].total
    return {"alerts": alerts, "alerts_total": total, "alerts_hidden": total - len(alerts)}
