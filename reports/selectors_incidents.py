"""The month's incidents one by one, as the page lists them and the CSV writes them: the
incidents the figures count (reports.selectors), newest first, each with its durations computed
by the database."""

from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet

from incidents.models import Incident, Service
from reports.definitions import Metric
from reports.figures import as_seconds, seconds
from reports.months import Month
from reports.report import IncidentRow
from reports.selectors import counted, started_in

# A private incident's title in a report: the reader may not be one of its participants.
PRIVATE_TITLE = "Private incident"

_FIELDS = (
    "number",
    "title",
    "private",
    "status",
    "severity__name",
    "team__name",
    "started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "last_resolved_at",
    "reopen_count",
)


def month_incidents(month: Month, metrics: list[Metric]) -> QuerySet[Incident]:
    """With each metric's seconds as `seconds_<key>`, services prefetched by name."""
    return (
        Incident.objects.filter(started_in(month), counted())
        .select_related("severity", "team")
        .only(*_FIELDS)
        .prefetch_related(
            Prefetch("services", queryset=Service.objects.only("name").order_by("name"))
        )
        .annotate(**{f"seconds_{metric.key}": seconds(metric) for metric in metrics})
        .order_by("-started_at", "-number")
    )


def incident_row(incident: Incident, metrics: list[Metric]) -> IncidentRow:
    """`incident` from month_incidents() as a row."""
    return IncidentRow(
        number=incident.number,
        title=PRIVATE_TITLE if incident.private else incident.title,
        severity=incident.severity.name,
        status=incident.status,
        team=incident.team.name if incident.team else "",
        services=", ".join(service.name for service in incident.services.all()),
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        declared_at=incident.declared_at,
        acknowledged_at=incident.acknowledged_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        last_resolved_at=incident.last_resolved_at,
        reopen_count=incident.reopen_count,
        durations={
            metric.key: as_seconds(getattr(incident, f"seconds_{metric.key}")) for metric in metrics
        },
        private=incident.private,
    )


def first_rows(month: Month, metrics: list[Metric], *, limit: int) -> list[IncidentRow]:
    """The newest `limit` rows: two queries (the incidents, their services)."""
    return [incident_row(incident, metrics) for incident in month_incidents(month, metrics)[:limit]]


def all_rows(month: Month, metrics: list[Metric], *, chunk_size: int) -> Iterator[IncidentRow]:
    """Every row, streamed: two queries per `chunk_size` incidents, never the month in memory."""
    for incident in month_incidents(month, metrics).iterator(chunk_size=chunk_size):
        yield incident_row(incident, metrics)
