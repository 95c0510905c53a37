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


def _event(key: str, status: AlertStatus, labels: dict[str, str], **fields: Any) -> AlertEvent:
    labels = {"alertname": "HighErrorRate", "service": "checkout", **labels}
    title = f"{labels['alertname']} on {labels['service']}"
    return AlertEvent(dedup_key=key, status=status, title=title, labels=labels, **fields)


def firing(key: str, *, at: datetime | None = None, **labels: str) -> AlertEvent:
    starts = at or timezone.now() - timedelta(seconds=5)
    return _event(
        key,
        AlertStatus.FIRING,
        labels,
        starts_at=starts,
        event_at=starts,
        annotations={"summary": "errors"},
    )


def resolved(
    key: str, *, started: datetime, ended: datetime | None = None, **labels: str
) -> AlertEvent:
    ends = ended or timezone.now()
    return _event(key, AlertStatus.RESOLVED, labels, starts_at=started, ends_at=ends, event_at=ends)
