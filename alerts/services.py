"""Alert ingestion and processing.

A delivery is parsed, then written with ONE bulk upsert (`alert_events_ingest`) and committed
before the webhook answers. Rows whose state changed carry `needs_processing`; the processor
(`alerts_process_pending`, run by a task enqueued on commit and by the sweeper) turns them into
incident changes through incidents.services, one integration at a time.
"""

import hashlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Collate
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertStatus, Integration, IntegrationKind, hash_token
from alerts.parsers import AlertEvent
from alerts.parsers.generic import template_errors
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
from incidents.permissions import Action, can
from ops.text import is_storable, shown
from ops.timestamps import EARLIEST, clamp_event_time

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


# What a manager may change after creation; kind and team are fixed, the token only rotates.
INTEGRATION_SETTINGS = frozenset(
    {
        "name",
        "active",
        "severity_map",
        "default_severity",
        "grouping_labels",
        "group_window",
        "auto_resolve",
        "max_incidents_per_minute",
        "title_template",
        "dedup_key_template",
        "severity_template",
        "resolved_template",
        "escalation_policy",
    }
)

# Prometheus' label name syntax; the other sources' keys are held to the same rule.
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_GROUP_WINDOW = timedelta(days=7)


def _require_manager(actor: User | None) -> None:
    """`None` is the system itself (seed data, tests, management commands)."""
    if actor is not None and not can(actor, Action.MANAGE_INTEGRATIONS):
        raise PermissionDenied("You may not manage integrations.")


def _severity_map_errors(value: object) -> tuple[dict[str, str], list[str]]:
    if not isinstance(value, dict):
        return {}, ["Map label values to severity names, e.g. {'critical': 'SEV1'}."]
    known = set(Severity.objects.values_list("name", flat=True))
    cleaned: dict[str, str] = {}
    errors: list[str] = []
    for key, name in value.items():
        hint = str(key).strip().lower()
        if not is_storable(hint) or (isinstance(name, str) and not is_storable(name)):
            # PostgreSQL's jsonb refuses them; shown escaped, as the answer must encode.
            errors.append(f"{shown(hint)!r}: text may not hold NUL or unpaired surrogates.")
        elif not hint or len(hint) > 32:
            errors.append(f"{key!r} is not a severity label value (1 to 32 characters).")
        elif not isinstance(name, str) or name not in known:
            errors.append(f"{hint}: unknown severity {name!r}.")
        else:
            cleaned[hint] = name
    return cleaned, errors


def _grouping_label_errors(value: object) -> list[str]:
    if not isinstance(value, list):
        return ["A list of label names, e.g. ['alertname', 'service']."]
    bad = [str(name) for name in value if not isinstance(name, str) or not LABEL_NAME.match(name)]
    if bad:
        return [f"Not a label name: {', '.join(bad)}."]
    if len(value) > 20:
        return ["At most 20 grouping labels."]
    return []


def _integration_clean(integration: Integration) -> None:
    """Raise one ValidationError naming every bad setting; nothing is saved on error."""
    errors: dict[str, list[str]] = {}
    integration.severity_map, map_errors = _severity_map_errors(integration.severity_map)
    if map_errors:
        errors["severity_map"] = map_errors
    label_errors = _grouping_label_errors(integration.grouping_labels)
    if label_errors:
        errors["grouping_labels"] = label_errors
    else:
        # Order and repeats do not change a group, so store each name once, sorted.
        integration.grouping_labels = sorted(set(integration.grouping_labels))
    # Checked whatever the kind: a template is refused when saved, not on every delivery.
    errors.update(
        generic_template_errors(
            title_template=integration.title_template,
            dedup_key_template=integration.dedup_key_template,
            severity_template=integration.severity_template,
            resolved_template=integration.resolved_template,
        )
    )
    window = integration.group_window
    if isinstance(window, timedelta) and not timedelta(0) <= window <= MAX_GROUP_WINDOW:
        errors["group_window"] = ["Between 0 seconds and 7 days."]
    try:
        integration.full_clean(exclude=["token_hash", "token_prefix", "storm_incident", *errors])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def integration_create(
    *,
    name: str,
    kind: str,
    team: Team,
    actor: User | None = None,
    **settings: Any,
) -> tuple[Integration, str]:
    """Create an integration and return it with its token, which is shown once only."""
    _require_manager(actor)
    unknown = set(settings) - INTEGRATION_SETTINGS
    if unknown:
        raise TypeError(f"Not integration settings: {', '.join(sorted(unknown))}")
    token = Integration.generate_token()
    integration = Integration(
        name=name,
        kind=kind,
        team=team,
        token_hash=hash_token(token),
        token_prefix=token[:8],
        **settings,
    )
    _integration_clean(integration)
    integration.save()
    logger.info("integration %s created by %s", integration.pk, _who(actor))
    return integration, token


def integration_update(
    *, integration: Integration, actor: User | None = None, **changes: Any
) -> Integration:
    """Change an integration's settings; all of them or, when one is invalid, none."""
    _require_manager(actor)
    unknown = set(changes) - INTEGRATION_SETTINGS
    if unknown:
        raise TypeError(f"Not integration settings: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Integration.objects.select_for_update().get(pk=integration.pk)
        for name, value in changes.items():
            setattr(locked, name, value)
        _integration_clean(locked)
        if changes:
            locked.save(update_fields=sorted(changes))
        transaction.on_commit(forget_cached_tokens)
    logger.info(
        "integration %s updated by %s: %s", locked.pk, _who(actor), ", ".join(sorted(changes))
    )
    return locked


def integration_rotate_token(*, integration: Integration, actor: User | None = None) -> str:
    """A new token replaces the old one, which stops working at once; shown once only."""
    _require_manager(actor)
    token = Integration.generate_token()
    integration.token_hash = hash_token(token)
    integration.token_prefix = token[:8]
    integration.save(update_fields=["token_hash", "token_prefix"])
    transaction.on_commit(forget_cached_tokens)
    logger.info("integration %s token rotated by %s", integration.pk, _who(actor))
    return token


def _who(actor: User | None) -> str:
    return actor.username if actor is not None else "the system"


# Webhook deliveries look their integration up by token hash, a database round trip on every
# request. Each process keeps what it found for a moment: a pause or a new token takes effect
# here at once and in the other processes within TOKEN_CACHE_SECONDS. Unknown tokens are never
# kept, so guessing cannot grow the cache.
TOKEN_CACHE_SECONDS = 2.0
_TOKEN_CACHE_MAX = 1000
_token_cache: dict[str, tuple[Integration, float]] = {}


def forget_cached_tokens() -> None:
    _token_cache.clear()


def integration_for_token(token: str) -> Integration | None:
    """The integration a token belongs to, active or paused; None for an unknown token."""
    # Our tokens are URL-safe ASCII; anything else (a lone surrogate cannot even be hashed)
    # is simply unknown.
    if not token or len(token) > 200 or not token.isascii() or not is_storable(token):
        return None
    digest = hash_token(token)
    now = time.monotonic()
    cached = _token_cache.get(digest)
    if cached is not None and cached[1] > now:
        return cached[0]
    integration = Integration.objects.filter(token_hash=digest).first()
    if integration is not None:
        if len(_token_cache) >= _TOKEN_CACHE_MAX:
            _token_cache.clear()
        _token_cache[digest] = (integration, now + TOKEN_CACHE_SECONDS)
    return integration


def group_key(integration: Integration, labels: dict[str, str]) -> str:
    names = sorted(integration.grouping_labels or [])
    key = json.dumps({name: labels.get(name, "") for name in names}, sort_keys=True)
    # The column holds 500 characters: longer label values group by their digest instead.
    limit = Alert._meta.get_field("group_key").max_length or 500
    return key if len(key) <= limit else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _latest_per_key(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """One event per dedup key: the newest by the source's clock (a payload may repeat keys).

    Sorted by key, so that concurrent deliveries of the same alerts lock their rows in the
    same order: in payload order, two upserts of [a, b] and [b, a] deadlock.
    """
    latest: dict[str, AlertEvent] = {}
    for event in events:
        key = event.dedup_key[:255]  # as stored
        held = latest.get(key)
        if held is None or event.event_at >= held.event_at:
            latest[key] = event
    return [latest[key] for key in sorted(latest)]


def _within_window(event: AlertEvent, now: datetime) -> AlertEvent:
    """The parsers clamp their times already; this keeps the upsert's ordering sound whatever
    builds the events: one `event_at` after now would make every later delivery of the alert
    look stale, and be dropped (see ops.timestamps)."""
    starts_at = clamp_event_time(event.starts_at, now=now)
    event_at = clamp_event_time(event.event_at, now=now)
    ends_at = None if event.ends_at is None else clamp_event_time(event.ends_at, now=now)
    if (starts_at, event_at, ends_at) == (event.starts_at, event.event_at, event.ends_at):
        return event
    return replace(event, starts_at=starts_at, event_at=event_at, ends_at=ends_at)


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
    "status_changes",
)


def alert_events_ingest(*, integration: Integration, events: Sequence[AlertEvent]) -> int:
    """Write a delivery's events with one statement; returns how many events it carried.

    An event older than the state held for its key is ignored (the WHERE of the DO UPDATE), so
    late and repeated deliveries change nothing. A changed status marks the row for processing.
    Caller commits; the processor runs after.
    """
    now = timezone.now()
    events = _latest_per_key([_within_window(event, now) for event in events])
    if not events:
        return 0
    rows = [
        {
            "dedup_key": event.dedup_key[:255],
            "status": event.status,
            "title": event.title[:1024],
            "severity_hint": event.severity_hint[:32],
            "labels": event.labels,
            "annotations": event.annotations,
            "source_url": event.source_url[:2000],
            "group_key": group_key(integration, event.labels),
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "event_at": event.event_at,
        }
        for event in events
    ]
    if connection.vendor == "postgresql":
        # The whole delivery is one JSON parameter: the statement's text never changes, so
        # neither psycopg nor PostgreSQL parses a new 150-parameter query for each delivery
        # (measured: about half the Python time of the upsert).
        sql = _UPSERT_FROM_JSON
        params: list[Any] = [integration.pk, now, now, json.dumps(rows, default=_isoformat)]
    else:
        row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, 1, 0)"
        sql = (
            f"INSERT INTO {_ALERT_TABLE} ({', '.join(_UPSERT_COLUMNS)}) VALUES "  # noqa: S608
            + ", ".join([row] * len(rows))
            + _ON_CONFLICT
        )
        params = []
        for values in rows:
            values["labels"] = json.dumps(values["labels"])
            values["annotations"] = json.dumps(values["annotations"])
            params += [integration.pk, *(values[name] for name in _UPSERT_COLUMNS[1:12]), now, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(events)


def _isoformat(value: object) -> str:
    # Full precision: DjangoJSONEncoder would cut times to milliseconds.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Only our own table and column names are interpolated into these; every value is a parameter.
_ALERT_TABLE = Alert._meta.db_table
_ON_CONFLICT = f"""
    ON CONFLICT (integration_id, dedup_key) DO UPDATE SET
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
        times_seen = {_ALERT_TABLE}.times_seen + 1,
        status_changes = {_ALERT_TABLE}.status_changes
            + CASE WHEN {_ALERT_TABLE}.status <> excluded.status THEN 1 ELSE 0 END,
        process_after = CASE WHEN {_ALERT_TABLE}.status <> excluded.status THEN NULL
            ELSE {_ALERT_TABLE}.process_after END,
        needs_processing = (
            {_ALERT_TABLE}.needs_processing OR {_ALERT_TABLE}.status <> excluded.status)
    WHERE {_ALERT_TABLE}.event_at <= excluded.event_at"""
# jsonb_to_recordset returns the rows in array order: still sorted by key, as the VALUES are.
_UPSERT_FROM_JSON = (
    f"INSERT INTO {_ALERT_TABLE} ({', '.join(_UPSERT_COLUMNS)})"  # noqa: S608
    """
    SELECT %s, r.dedup_key, r.status, r.title, r.severity_hint, r.labels, r.annotations,
        r.source_url, r.group_key, r.starts_at, r.ends_at, r.event_at, %s, %s, 1, TRUE, 0
    FROM jsonb_to_recordset(%s::jsonb) AS r(
        dedup_key text, status text, title text, severity_hint text, labels jsonb,
        annotations jsonb, source_url text, group_key text, starts_at timestamptz,
        ends_at timestamptz, event_at timestamptz)""" + _ON_CONFLICT
)


@dataclass
class ProcessResult:
    processed: int = 0
    incidents_declared: int = 0
    more_pending: bool = False  # the batch was full or stopped early: run again now
    # Another processor held the integration, so nothing was read. It may have read its batch
    # before the caller's alerts were committed: the caller tries again shortly.
    busy: bool = False


def _due(now: datetime) -> Q:
    """Changed alerts to process now: all but those set aside after failing on their own."""
    return Q(needs_processing=True) & (Q(process_after__isnull=True) | Q(process_after__lte=now))


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
        pending = Alert.objects.filter(_due(now), integration=integration)
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
        Alert.objects.filter(_due(now), integration_id=integration_id)
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


def integrations_with_pending_alerts(*, older_than: timedelta = timedelta(0)) -> list[int]:
    """For the sweeper: integrations holding changed alerts nobody processed in time."""
    now = timezone.now()
    cutoff = now - older_than
    return list(
        Alert.objects.filter(_due(now), last_seen_at__lte=cutoff)
        .values_list("integration_id", flat=True)
        .distinct()
        .order_by()
    )


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
        self._timeline: list[incident_services.TimelineEntry] = []
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
                    incident=incident, actor=None, source=self.source
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
        still_open = incident_services.incidents_lock_open(joined)
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
                    actor=None,
                    severity=severity,
                    source=self.source,
                    raise_only=True,
                )
        return again

    def write(self) -> None:
        """Write the batch's timeline entries and its alerts' incidents; the caller holds the
        alerts' row locks."""
        incident_services.incident_record_events(entries=self._timeline)
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
            actor=None,
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
                actor=None,
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
                actor=None,
                status=Status.MONITORING,
                source=self.source,
                message="every alert resolved",
            )

    def _record(self, incident: Incident, alert: Alert, message: str) -> None:
        self._timeline.append(
            incident_services.TimelineEntry(
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
        )


def alert_open_for_key(*, integration: Integration, dedup_key: str) -> Alert | None:
    """The alert a follow-up event (acknowledge, resolve) applies to: firing or acknowledged.

    As PagerDuty does, follow-ups for a key that is unknown or already resolved are dropped:
    they must not open an incident, and an acknowledgement must not revive a resolved alert.
    """
    return (
        Alert.objects.filter(integration=integration, dedup_key=dedup_key)
        .exclude(status=AlertStatus.RESOLVED)
        .first()
    )


def generic_template_errors(
    *,
    title_template: str = "",
    dedup_key_template: str = "",
    severity_template: str = "",
    resolved_template: str = "",
) -> dict[str, list[str]]:
    """Why each generic-webhook template would be refused, by field; empty when all are fine."""
    templates = {
        "title_template": title_template,
        "dedup_key_template": dedup_key_template,
        "severity_template": severity_template,
        "resolved_template": resolved_template,
    }
    errors = {name: template_errors(source) for name, source in templates.items() if source}
    return {name: messages for name, messages in errors.items() if messages}


def validate_generic_templates(
    *,
    title_template: str = "",
    dedup_key_template: str = "",
    severity_template: str = "",
    resolved_template: str = "",
) -> None:
    """Refuse, at save time, templates that could only fail (or be refused) on every delivery."""
    errors = generic_template_errors(
        title_template=title_template,
        dedup_key_template=dedup_key_template,
        severity_template=severity_template,
        resolved_template=resolved_template,
    )
    if errors:
        raise ValidationError(errors)
