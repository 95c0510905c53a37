"""The processor: changed alerts become incident changes through incidents.services, one
integration at a time (`alerts_process_pending`, run by a task enqueued on commit of a delivery
and by the sweeper): grouping, declaring, acknowledging, resolving.
"""

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F
from django.db.models.functions import Collate
from django.utils import timezone

from accounts.actors import SYSTEM
from alerts.models import Alert, AlertStatus, Integration, IntegrationKind
from alerts.rules import severity_candidates
from alerts.selectors import alerts_due
from incidents import services as incident_services
from incidents.locks import incidents_lock_open
from incidents.models import (
    OPEN_STATUSES,
    STATUS_ORDER,
    EventKind,
    Incident,
    Service,
    Severity,
    Source,
    Status,
)
from incidents.timeline import TimelineEntry, incident_record_events
from ops.timestamps import EARLIEST

logger = logging.getLogger(__name__)

INCIDENT_SOURCE = {
    IntegrationKind.ALERTMANAGER: Source.ALERTMANAGER,
    IntegrationKind.EVENTS_V2: Source.EVENTS_API,
    IntegrationKind.GENERIC: Source.WEBHOOK,
}

# How many changed alerts one processor run takes; the next run takes the rest. A batch makes
# a few queries of its own however many alerts it holds (replaying the ingest benchmark's mix:
# 0.86 ms of CPU an alert at 50, 0.56 at 200, 0.50 at 500), but holds the locks of the
# incidents it changes until it commits; at 200 it commits within about 100 ms.
PROCESS_BATCH = 200
# A batch stops after declaring this many incidents and leaves the rest to the next run:
# every declaration holds the incident counter's lock until the batch commits, so a burst of
# new groups (150 declarations in one batch, measured: over a second) would hold up every other
# integration's declarations, and with them their pages.
DECLARE_PER_BATCH = 10


@dataclass
class ProcessResult:
    processed: int = 0
    incidents_declared: int = 0
    more_pending: bool = False  # the batch was full or stopped early: run again now
    # Another processor held the integration, so nothing was read. It may have read its batch
    # before the caller's alerts were committed: the caller tries again shortly.
    busy: bool = False


def alerts_process_pending(
    *, integration_id: int, now: datetime | None = None, only: int | None = None
) -> ProcessResult:
    """Act on the oldest changed alerts of one integration, up to PROCESS_BATCH of them.

    Processors of one integration take turns on its row lock; one that finds it taken returns
    at once (`busy`) rather than hold a worker while it waits (measured under load: every
    worker thread waiting on that lock while other integrations' alerts queued behind them).
    An alert whose status a delivery changes while the batch works stays pending for the next
    run, as does one that joined an incident a responder closed meanwhile.
    """
    result = ProcessResult()
    with transaction.atomic():
        # NO KEY: a plain FOR UPDATE would also block the foreign-key checks of deliveries
        # inserting new alerts of this integration until the whole batch is processed.
        integration = (
            Integration.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("team")
            .filter(pk=integration_id)
            .first()
        )
        if integration is None:
            result.busy = Integration.objects.filter(pk=integration_id).exists()
            return result
        # Read without row locks: deciding can take a while (declaring incidents, say), and a
        # delivery updating one of these alerts must not wait for it (measured under load: the
        # webhook's gunicorn threads all waiting on a batch's row locks for seconds).
        now = now or timezone.now()
        pending = Alert.objects.filter(alerts_due(now), integration=integration)
        if only is not None:
            pending = pending.filter(pk=only)
        alerts = list(
            pending.select_related("incident__severity").order_by("event_at", "id")[:PROCESS_BATCH]
        )
        processor = _Processor(integration, now, alerts)
        processed: list[Alert] = []
        for alert in alerts:
            if processor.declared >= DECLARE_PER_BATCH:
                break
            processor.process(alert)
            processed.append(alert)
        # Lock order: the incidents, then the alerts (a delivery locks alerts only).
        again = processor.settle_incidents()
        unchanged = _lock_unchanged(processed)
        processor.write()
        done = [pk for pk in unchanged if pk not in again]
        # Done: any earlier failure is history, so a later one backs off from a minute again.
        Alert.objects.filter(pk__in=done).update(
            needs_processing=False, process_failures=0, process_after=None
        )
        result.processed = len(processed)
        result.incidents_declared = processor.declared
        result.more_pending = len(alerts) == PROCESS_BATCH or len(processed) < len(alerts)
    return result


def _lock_unchanged(alerts: Sequence[Alert]) -> list[int]:
    """Lock the processed alerts' rows and return those whose status no delivery changed since
    they were read; a changed one keeps its new state pending for the next run."""
    # Locked in dedup-key order, the order in which a delivery's upsert locks them, so the two
    # never wait on each other in a cycle (measured before: deadlocks under load). Byte order,
    # as Python sorts the delivery's keys; a collation such as en_US would differ.
    current = dict(
        Alert.objects.select_for_update()
        .filter(pk__in=[alert.pk for alert in alerts])
        .order_by(Collate("dedup_key", "C") if connection.vendor == "postgresql" else "dedup_key")
        .values_list("pk", "status_changes")
    )
    return [alert.pk for alert in alerts if current.get(alert.pk) == alert.status_changes]


def _set_incidents(incident_of: dict[int, int | None]) -> None:
    """Point each alert (by pk) at its incident, with one statement.

    Plain SQL: Django's bulk_update builds a CASE of a WHEN per row, measured at 15 ms for 50
    alerts, most of it in Python.
    """
    if not incident_of:
        return
    table = Alert._meta.db_table
    # Cast, or PostgreSQL would type a column of NULLs as text.
    rows = ", ".join(["(%s, CAST(%s AS BIGINT))"] * len(incident_of))
    sql = (
        f"WITH moved (alert_id, incident_id) AS (VALUES {rows}) "  # noqa: S608
        f"UPDATE {table} SET incident_id = "
        f"(SELECT moved.incident_id FROM moved WHERE moved.alert_id = {table}.id) "
        f"WHERE id IN (SELECT alert_id FROM moved)"
    )
    params = [value for pair in incident_of.items() for value in pair]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# How long one narrowing-down may take; the next task run goes on from there.
NARROW_DOWN_SECONDS = 2.0


def alerts_process_one_by_one(*, integration_id: int, now: datetime | None = None) -> int | None:
    """After a batch failed: process its due alerts one at a time, oldest first, until one
    fails. That alert is set aside (tried again after a minute, doubling to an hour) so the
    integration's other alerts go on, unless the next alert fails as well: then the fault is
    not that alert's (a bad deploy, the database) and nothing is set aside. A database that
    cannot be reached stops the narrowing, for the task to try again. Returns the alert set
    aside, if any.
    """
    now = now or timezone.now()
    deadline = time.monotonic() + NARROW_DOWN_SECONDS
    due = list(
        Alert.objects.filter(alerts_due(now), integration_id=integration_id)
        .order_by("event_at", "id")
        .values_list("pk", "process_failures")[:PROCESS_BATCH]
    )
    failed: tuple[int, int] | None = None
    for pk, failures in due:
        if time.monotonic() > deadline:
            return None
        try:
            alerts_process_pending(integration_id=integration_id, now=now, only=pk)
        except (OperationalError, InterfaceError):
            logger.exception("the database failed while processing alert %s", pk)
            return None
        except Exception:
            # Anything else: a bug meeting this alert, most likely.
            logger.exception("alert %s failed to process on its own", pk)
            if failed is not None:
                logger.error("alerts %s and %s both fail: not set aside", failed[0], pk)
                return None
            failed = (pk, failures)
            continue
        if failed is not None:
            break  # the next alert went through: the failure was the alert's own
    if failed is None:
        return None
    pk, failures = failed
    logger.error("alert %s set aside after failing on its own", pk)
    Alert.objects.filter(pk=pk).update(
        process_failures=F("process_failures") + 1,
        process_after=now + timedelta(minutes=min(2**failures, 60)),
    )
    return pk


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _Processor:
    """Turns a batch of alert state changes into incident changes. The caller holds the
    integration's lock.

    Alerts are decided one by one in event order, against what the batch read up front: its
    groups' open incidents and how many unresolved alerts the incidents it resolves alerts
    of still hold. Then `settle_incidents` checks the incidents joined are still open and
    raises severities, and `write` writes the timeline entries and the alerts' incidents,
    each with one statement: a batch costs a handful of queries however many alerts it
    holds, plus the incident services' own for what changes an incident (declare, status).
    """

    def __init__(self, integration: Integration, now: datetime, alerts: Sequence[Alert]) -> None:
        self.integration = integration
        self.now = now
        self.source = INCIDENT_SOURCE[IntegrationKind(integration.kind)]
        self.declared = 0
        self._severities = {s.name: s for s in Severity.objects.all()}
        self._severities_by_pk = {s.pk: s for s in self._severities.values()}
        self._group_incidents = self._open_incidents_of_groups(alerts)
        self._unresolved = self._unresolved_alerts_of_incidents(alerts)
        self._followed: set[int] = set()  # incidents whose resolution this batch settled
        self._declared_this_minute: int | None = None
        self._timeline: list[TimelineEntry] = []
        self._moved: dict[int, Alert] = {}  # alerts whose incident changed, by pk
        # The most severe of the alerts joining each incident, when above the incident's: one
        # change per incident and batch (an alert of each severity in turn made four).
        self._raises: dict[int, Severity] = {}
        self._acknowledged: set[int] = set()  # incidents this batch acknowledged

    def _open_incidents_of_groups(self, alerts: Sequence[Alert]) -> dict[str, Incident]:
        """The open incident each group may join: the newest among those holding an alert of
        the group seen within the integration's group window."""
        keys = {
            alert.group_key
            for alert in alerts
            if alert.status != AlertStatus.RESOLVED
            and (alert.incident is None or not alert.incident.is_open)
        }
        if not keys:
            return {}
        # No join with incidents: with a table that just grew (statistics not yet gathered)
        # the planner looped over every open incident's alerts instead, 300 ms a batch.
        pairs = list(
            Alert.objects.filter(
                integration=self.integration,
                group_key__in=keys,
                incident__isnull=False,
                last_seen_at__gte=self.now - self.integration.group_window,
            )
            .values_list("group_key", "incident_id")
            .distinct()
            .order_by()
        )
        incidents = (
            Incident.objects.select_related("severity")
            .filter(status__in=OPEN_STATUSES)
            .in_bulk({incident_id for _, incident_id in pairs})
        )
        newest: dict[str, Incident] = {}
        for key, incident_id in pairs:
            incident, held = incidents.get(incident_id), newest.get(key)
            if incident is None:
                continue  # closed
            if held is None or (incident.declared_at, incident.pk) > (held.declared_at, held.pk):
                newest[key] = incident
        return newest

    def _unresolved_alerts_of_incidents(self, alerts: Sequence[Alert]) -> Counter[int]:
        """For each incident an alert of the batch resolves on: how many of its alerts are
        firing or acknowledged (the batch's rows already hold their new status)."""
        incident_ids = {
            alert.incident_id
            for alert in alerts
            if alert.status == AlertStatus.RESOLVED and alert.incident_id is not None
        }
        counts: Counter[int] = Counter()
        if incident_ids:
            counts.update(
                dict(
                    Alert.objects.filter(incident_id__in=incident_ids)
                    .exclude(status=AlertStatus.RESOLVED)
                    .values("incident_id")
                    .annotate(n=Count("id"))
                    .values_list("incident_id", "n")
                    .order_by()
                )
            )
        return counts

    def process(self, alert: Alert) -> None:
        incident = alert.incident
        if incident is not None and not incident.is_open and alert.status != AlertStatus.RESOLVED:
            # The alert fires again after its incident closed: it is a new occurrence.
            self._move(alert, None)
            incident = None
        if alert.status == AlertStatus.FIRING:
            if incident is None:
                self._attach(alert)
            else:
                # Only a changed status is processed: it resolved and fires again while its
                # incident is still open (monitoring, say); the responders should see that.
                self._record(incident, alert, f"Alert firing again: {alert.title}")
        elif alert.status == AlertStatus.ACKNOWLEDGED:
            if incident is None:
                self._attach(alert)
                incident = alert.incident
            if (
                incident is not None
                and incident.status == Status.DETECTED
                and incident.pk not in self._acknowledged
            ):
                incident_services.incident_acknowledge(
                    incident=incident, actor=SYSTEM, source=self.source
                )
                self._acknowledged.add(incident.pk)
        elif alert.status == AlertStatus.RESOLVED and incident is not None:
            self._record(incident, alert, f"Alert resolved: {alert.title}")
            self._follow_resolution(incident)

    def settle_incidents(self) -> set[int]:
        """Lock the incidents alerts joined, drop the joins to any closed meanwhile (by a
        responder, while the batch worked), and raise severities. Returns the alerts whose
        join was dropped: they stay pending and are processed again.
        """
        joined = {alert.incident_id for alert in self._moved.values() if alert.incident_id}
        still_open = incidents_lock_open(joined)
        again = {pk for pk, alert in self._moved.items() if alert.incident_id not in still_open}
        for pk in again:
            del self._moved[pk]
        if again:
            self._timeline = [entry for entry in self._timeline if entry.data["alert"] not in again]
        incidents = {incident.pk: incident for incident in self._group_incidents.values()}
        for incident_id, severity in self._raises.items():
            if incident_id in still_open and incident_id in incidents:
                # Only up: a responder may have raised it further while the batch worked.
                incident_services.incident_set_severity(
                    incident=incidents[incident_id],
                    actor=SYSTEM,
                    severity=severity,
                    source=self.source,
                    raise_only=True,
                )
        return again

    def write(self) -> None:
        """Write the batch's timeline entries and its alerts' incidents; the caller holds the
        alerts' row locks."""
        incident_record_events(entries=self._timeline)
        _set_incidents({alert.pk: alert.incident_id for alert in self._moved.values()})

    def _move(self, alert: Alert, incident: Incident | None) -> None:
        alert.incident = incident
        self._moved[alert.pk] = alert
        if incident is not None and alert.status != AlertStatus.RESOLVED:
            self._unresolved[incident.pk] += 1

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
            return self._severities_by_pk[self.integration.default_severity_id]
        return max(self._severities.values(), key=lambda s: s.rank)

    def _attach(self, alert: Alert) -> None:
        severity = self._severity_for(alert)
        incident = self._group_incidents.get(alert.group_key)
        if incident is None and self._storming():
            incident = self._storm_incident()
        if incident is None:
            incident = self._declare(alert, severity)
            text = f"Alert firing: {alert.title}"
        else:
            text = f"Alert joined: {alert.title}"
            raised = self._raises.get(incident.pk, incident.severity)
            if severity.rank < raised.rank and incident.pk != self._storm_pk():
                self._raises[incident.pk] = severity
        self._group_incidents[alert.group_key] = incident
        self._move(alert, incident)
        self._record(incident, alert, text)

    def _declare(self, alert: Alert, severity: Severity) -> Incident:
        service_slug = alert.labels.get("service", "")
        services = list(Service.objects.filter(slug=service_slug)) if service_slug else []
        # A blank title (a template rendering spaces) would be refused, and a batch that fails
        # every time it runs holds up every later alert of the integration.
        title = alert.title.strip() or f"Alert {alert.dedup_key}"
        incident = incident_services.incident_declare(
            actor=SYSTEM,
            title=_shortened(title, Incident._meta.get_field("title").max_length or 200),
            severity=severity,
            summary=alert.annotations.get("description", ""),
            services=services,
            team=self.integration.team,
            source=self.source,
            labels={k: str(v) for k, v in alert.labels.items()},
            detected_at=min(alert.first_seen_at, self.now),
            # Clamped: an alert stored before times were checked must still declare.
            started_at=max(min(alert.starts_at, alert.first_seen_at, self.now), EARLIEST),
        )
        self.declared += 1
        if self._declared_this_minute is not None:
            self._declared_this_minute += 1
        return incident

    def _storming(self) -> bool:
        if self._declared_this_minute is None:
            self._declared_this_minute = (
                Incident.objects.filter(
                    alerts__integration=self.integration,
                    declared_at__gte=self.now - timedelta(minutes=1),
                )
                .exclude(pk=self._storm_pk() or 0)
                .distinct()
                .count()
            )
        return self._declared_this_minute >= self.integration.max_incidents_per_minute

    def _storm_pk(self) -> int | None:
        return self.integration.storm_incident_id

    def _storm_incident(self) -> Incident:
        storm = self.integration.storm_incident
        if storm is not None and storm.is_open:
            return storm
        storm = incident_services.incident_declare(
            actor=SYSTEM,
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
        if (
            self._unresolved[incident.pk] > 0
            or incident.pk in self._followed
            or incident.source not in INCIDENT_SOURCE.values()
        ):
            return
        self._followed.add(incident.pk)
        incident.refresh_from_db(fields=["status"])  # a responder may have moved it meanwhile
        if not incident.is_open:
            return
        if self.integration.auto_resolve:
            incident_services.incident_resolve(
                incident=incident,
                actor=SYSTEM,
                source=self.source,
                resolution="Every alert resolved.",
            )
            # Closed now: a later alert of its group in this batch must not join it.
            self._group_incidents = {
                key: held for key, held in self._group_incidents.items() if held.pk != incident.pk
            }
        elif STATUS_ORDER.index(incident.status) < STATUS_ORDER.index(Status.MONITORING):
            incident_services.incident_set_status(
                incident=incident,
                actor=SYSTEM,
                status=Status.MONITORING,
                source=self.source,
                message="every alert resolved",
            )

    def _record(self, incident: Incident, alert: Alert, message: str) -> None:
        self._timeline.append(
            TimelineEntry(
                incident=incident,
                kind=EventKind.ALERT,
                actor=SYSTEM,
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
        )
