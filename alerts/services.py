"""Alert ingestion and processing.

A delivery is parsed, then written with ONE bulk upsert (`alert_events_ingest`) and committed
before the webhook answers. Rows whose state changed carry `needs_processing`; the processor
(`alerts_process_pending`, run by a task enqueued on commit and by the sweeper) turns them into
incident changes through incidents.services, one integration at a time.
"""

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, AlertStatus, Integration, IntegrationKind, hash_token
from alerts.parsers import AlertEvent
from alerts.rules import severity_candidates
from incidents import services as incident_services
from incidents.models import (
    OPEN_STATUSES,
    STATUS_ORDER,
    EventKind,
    Incident,
    Service,
    Severity,
    Source,
    Status,
    Team,
)

logger = logging.getLogger(__name__)

INCIDENT_SOURCE = {
    IntegrationKind.ALERTMANAGER: Source.ALERTMANAGER,
    IntegrationKind.EVENTS_V2: Source.EVENTS_API,
    IntegrationKind.GENERIC: Source.WEBHOOK,
}

# How many changed alerts one processor run takes; the next run takes the rest.
PROCESS_BATCH = 500


def integration_create(
    *, name: str, kind: str, team: Team, **settings: Any
) -> tuple[Integration, str]:
    """Create an integration and return it with its token, which is shown once only."""
    token = Integration.generate_token()
    integration = Integration.objects.create(
        name=name,
        kind=kind,
        team=team,
        token_hash=hash_token(token),
        token_prefix=token[:8],
        **settings,
    )
    return integration, token


def integration_rotate_token(*, integration: Integration) -> str:
    token = Integration.generate_token()
    integration.token_hash = hash_token(token)
    integration.token_prefix = token[:8]
    integration.save(update_fields=["token_hash", "token_prefix"])
    return token


def integration_for_token(token: str) -> Integration | None:
    """The integration a token belongs to, active or paused; None for an unknown token."""
    if not token or len(token) > 200:
        return None
    return Integration.objects.select_related("team").filter(token_hash=hash_token(token)).first()


def group_key(integration: Integration, labels: dict[str, str]) -> str:
    names = sorted(integration.grouping_labels or [])
    return json.dumps({name: labels.get(name, "") for name in names}, sort_keys=True)


def _latest_per_key(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """One event per dedup key: the newest by the source's clock (a payload may repeat keys)."""
    latest: dict[str, AlertEvent] = {}
    for event in events:
        held = latest.get(event.dedup_key)
        if held is None or event.event_at >= held.event_at:
            latest[event.dedup_key] = event
    return list(latest.values())


_UPSERT_COLUMNS = (
    "integration_id",
    "dedup_key",
    "status",
    "title",
    "severity_hint",
    "labels",
    "annotations",
    "source_url",
    "group_key",
    "starts_at",
    "ends_at",
    "event_at",
    "first_seen_at",
    "last_seen_at",
    "times_seen",
    "needs_processing",
)


def alert_events_ingest(*, integration: Integration, events: Sequence[AlertEvent]) -> int:
    """Write a delivery's events with one statement; returns how many events it carried.

    An event older than the state held for its key is ignored (the WHERE of the DO UPDATE), so
    late and repeated deliveries change nothing. A changed status marks the row for processing.
    Caller commits; the processor runs after.
    """
    events = _latest_per_key(events)
    if not events:
        return 0
    now = timezone.now()
    json_cast = "::jsonb" if connection.vendor == "postgresql" else ""
    row = (
        f"(%s, %s, %s, %s, %s, %s{json_cast}, %s{json_cast}, %s, %s, %s, %s, %s, %s, %s, 1, "
        f"{_true()})"
    )
    params: list[Any] = []
    for event in events:
        params += [
            integration.pk,
            event.dedup_key[:255],
            event.status,
            event.title[:1024],
            event.severity_hint[:32],
            json.dumps(event.labels),
            json.dumps(event.annotations),
            event.source_url[:2000],
            group_key(integration, event.labels),
            event.starts_at,
            event.ends_at,
            event.event_at,
            now,
            now,
        ]
    table = Alert._meta.db_table
    # Only our own table and column names are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(_UPSERT_COLUMNS)}) VALUES "  # noqa: S608
        + ", ".join([row] * len(events))
        + f""" ON CONFLICT (integration_id, dedup_key) DO UPDATE SET
            status = excluded.status,
            title = excluded.title,
            severity_hint = excluded.severity_hint,
            labels = excluded.labels,
            annotations = excluded.annotations,
            source_url = excluded.source_url,
            group_key = excluded.group_key,
            starts_at = excluded.starts_at,
            ends_at = excluded.ends_at,
            event_at = excluded.event_at,
            last_seen_at = excluded.last_seen_at,
            times_seen = {table}.times_seen + 1,
            needs_processing = ({table}.needs_processing OR {table}.status <> excluded.status)
        WHERE {table}.event_at <= excluded.event_at"""
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(events)


def _true() -> str:
    return "TRUE" if connection.vendor == "postgresql" else "1"


@dataclass
class ProcessResult:
    processed: int = 0
    incidents_declared: int = 0


def alerts_process_pending(*, integration_id: int, now: datetime | None = None) -> ProcessResult:
    """Act on the changed alerts of one integration. Safe to run twice or concurrently:
    the integration row lock serializes processors, and each alert is claimed under its lock.
    """
    result = ProcessResult()
    with transaction.atomic():
        integration = (
            Integration.objects.select_for_update()
            .select_related("team")
            .filter(pk=integration_id)
            .first()
        )
        if integration is None:
            return result
        alerts = list(
            Alert.objects.select_for_update(of=("self",))
            .filter(integration=integration, needs_processing=True)
            .select_related("incident")
            .order_by("event_at", "id")[:PROCESS_BATCH]
        )
        processor = _Processor(integration, now or timezone.now())
        for alert in alerts:
            processor.process(alert)
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(needs_processing=False)
        result.processed = len(alerts)
        result.incidents_declared = processor.declared
    return result


def integrations_with_pending_alerts(*, older_than: timedelta = timedelta(0)) -> list[int]:
    """For the sweeper: integrations holding changed alerts nobody processed in time."""
    cutoff = timezone.now() - older_than
    return list(
        Alert.objects.filter(needs_processing=True, last_seen_at__lte=cutoff)
        .values_list("integration_id", flat=True)
        .distinct()
        .order_by()
    )


class _Processor:
    """Turns alert state changes into incident changes. Caller holds the integration's lock."""

    def __init__(self, integration: Integration, now: datetime) -> None:
        self.integration = integration
        self.now = now
        self.source = INCIDENT_SOURCE[IntegrationKind(integration.kind)]
        self.declared = 0
        self._severities = {s.name: s for s in Severity.objects.all()}

    def process(self, alert: Alert) -> None:
        incident = alert.incident
        if incident is not None and not incident.is_open and alert.status != AlertStatus.RESOLVED:
            # The alert fires again after its incident closed: it is a new occurrence.
            alert.incident = incident = None
            Alert.objects.filter(pk=alert.pk).update(incident=None)
        if alert.status == AlertStatus.FIRING:
            if incident is None:
                self._attach(alert)
        elif alert.status == AlertStatus.ACKNOWLEDGED:
            if incident is None:
                self._attach(alert)
                incident = alert.incident
            if incident is not None and incident.status == Status.DETECTED:
                incident_services.incident_acknowledge(
                    incident=incident, actor=None, source=self.source
                )
        elif alert.status == AlertStatus.RESOLVED and incident is not None:
            self._record(incident, alert, f"Alert resolved: {alert.title}")
            self._follow_resolution(incident)

    def _severity_for(self, alert: Alert) -> Severity:
        names = severity_candidates(
            labels=alert.labels,
            annotations=alert.annotations,
            severity_hint=alert.severity_hint,
            severity_map=self.integration.severity_map or {},
        )
        known = [self._severities[n] for n in names if n in self._severities]
        if known:
            return min(known, key=lambda s: s.rank)
        if self.integration.default_severity_id is not None:
            return self._severities_by_pk()[self.integration.default_severity_id]
        return max(self._severities.values(), key=lambda s: s.rank)

    def _severities_by_pk(self) -> dict[int, Severity]:
        return {s.pk: s for s in self._severities.values()}

    def _open_incident_of_group(self, alert: Alert) -> Incident | None:
        since = self.now - self.integration.group_window
        sibling = (
            Alert.objects.filter(
                integration=self.integration,
                group_key=alert.group_key,
                incident__status__in=OPEN_STATUSES,
                last_seen_at__gte=since,
            )
            .exclude(pk=alert.pk)
            .select_related("incident")
            .order_by("-incident__declared_at")
            .first()
        )
        return sibling.incident if sibling is not None else None

    def _attach(self, alert: Alert) -> None:
        severity = self._severity_for(alert)
        incident = self._open_incident_of_group(alert)
        if incident is None and self._storming():
            incident = self._storm_incident()
        if incident is None:
            incident = self._declare(alert, severity)
            text = f"Alert firing: {alert.title}"
        else:
            text = f"Alert joined: {alert.title}"
            if severity.rank < incident.severity.rank and incident.pk != self._storm_pk():
                incident = incident_services.incident_set_severity(
                    incident=incident, actor=None, severity=severity, source=self.source
                )
        alert.incident = incident
        Alert.objects.filter(pk=alert.pk).update(incident=incident)
        self._record(incident, alert, text)

    def _declare(self, alert: Alert, severity: Severity) -> Incident:
        service_slug = alert.labels.get("service", "")
        services = list(Service.objects.filter(slug=service_slug)) if service_slug else []
        incident = incident_services.incident_declare(
            actor=None,
            title=alert.title,
            severity=severity,
            summary=alert.annotations.get("description", ""),
            services=services,
            team=self.integration.team,
            source=self.source,
            labels={k: str(v) for k, v in alert.labels.items()},
            detected_at=min(alert.first_seen_at, self.now),
            started_at=min(alert.starts_at, alert.first_seen_at, self.now),
        )
        self.declared += 1
        return incident

    def _storming(self) -> bool:
        limit = self.integration.max_incidents_per_minute
        recent = (
            Incident.objects.filter(
                alerts__integration=self.integration,
                declared_at__gte=self.now - timedelta(minutes=1),
            )
            .exclude(pk=self._storm_pk() or 0)
            .distinct()
            .count()
        )
        return recent >= limit

    def _storm_pk(self) -> int | None:
        return self.integration.storm_incident_id

    def _storm_incident(self) -> Incident:
        storm = self.integration.storm_incident
        if storm is not None and storm.is_open:
            return storm
        storm = incident_services.incident_declare(
            actor=None,
            title=f"Alert storm on {self.integration.name}",
            severity=min(self._severities.values(), key=lambda s: s.rank),
            summary=(
                f"More than {self.integration.max_incidents_per_minute} incidents a minute came "
                f"from {self.integration.name}; further new alerts are collected here."
            ),
            team=self.integration.team,
            source=self.source,
            labels={"tocsin_storm": str(self.integration.pk)},
        )
        self.integration.storm_incident = storm
        self.integration.save(update_fields=["storm_incident"])
        self.declared += 1
        return storm

    def _follow_resolution(self, incident: Incident) -> None:
        """When every alert of an alert-born incident has resolved, the incident moves on."""
        incident.refresh_from_db(fields=["status"])
        if not incident.is_open or incident.source not in INCIDENT_SOURCE.values():
            return
        still_firing = Alert.objects.filter(incident=incident).filter(
            ~Q(status=AlertStatus.RESOLVED)
        )
        if still_firing.exists():
            return
        if self.integration.auto_resolve:
            incident_services.incident_resolve(
                incident=incident,
                actor=None,
                source=self.source,
                resolution="Every alert resolved.",
            )
        elif STATUS_ORDER.index(incident.status) < STATUS_ORDER.index(Status.MONITORING):
            incident_services.incident_set_status(
                incident=incident,
                actor=None,
                status=Status.MONITORING,
                source=self.source,
                message="every alert resolved",
            )

    def _record(self, incident: Incident, alert: Alert, message: str) -> None:
        incident_services.incident_record_event(
            incident=incident,
            kind=EventKind.ALERT,
            source=self.source,
            message=message,
            at=self.now,
            data={
                "alert": alert.pk,
                "dedup_key": alert.dedup_key,
                "status": alert.status,
                "labels": alert.labels,
                "source_url": alert.source_url,
            },
        )
