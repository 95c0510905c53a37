from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.actors import SYSTEM
from alerts.models import AlertStatus, Integration, IntegrationKind
from alerts.parsers import AlertEvent
from alerts.services import integrations
from tests.factories import TeamFactory


def make_integration(kind: str = IntegrationKind.ALERTMANAGER, **settings: Any) -> Integration:
    integration, _ = integrations.integration_create(
        actor=SYSTEM,
        name=settings.pop("name", "Prometheus"),
        kind=kind,
        team=settings.pop("team", None) or TeamFactory(name="Payments"),
        **settings,
    )
    return integration


def firing(key: str, *, at: datetime | None = None, **labels: str) -> AlertEvent:
    starts = at or timezone.now() - timedelta(seconds=5)
    labels = {"alertname": "HighErrorRate", "service": "checkout", **labels}
    return AlertEvent(
        dedup_key=key,
        status=AlertStatus.FIRING,
        title=f"{labels['alertname']} on {labels['service']}",
        starts_at=starts,
        event_at=starts,
        labels=labels,
        annotations={"summary": "errors"},
    )


def resolved(
    key: str, *, started: datetime, ended: datetime | None = None, **labels: str
) -> AlertEvent:
    ends = ended or timezone.now()
    labels = {"alertname": "HighErrorRate", "service": "checkout", **labels}
    return AlertEvent(
        dedup_key=key,
        status=AlertStatus.RESOLVED,
        title=f"{labels['alertname']} on {labels['service']}",
        starts_at=started,
        ends_at=ends,
        event_at=ends,
        labels=labels,
    )
