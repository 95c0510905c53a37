"""The month's incidents one by one, as the page lists them and the CSV writes them: the
incidents the figures count (reports.selectors), newest first, each with its durations computed
by the database and its services' names joined by it. One query, whatever their number: rows
are read as tuples (no model instances, no prefetch), the CSV's streamed in chunks."""

from collections.abc import Iterator
from typing import Any

from django.db.models import (
    Case,
    CharField,
    F,
    OuterRef,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
    When,
)

from incidents.models import Incident
from reports.definitions import Metric
from reports.figures import as_seconds, seconds
from reports.months import Month
from reports.report import IncidentRow
from reports.selectors import counted, started_in

# A private incident's title in a report: the reader may not be one of its participants.
PRIVATE_TITLE = "Private incident"
SERVICES_SEPARATOR = ", "

_FIELDS = (
    "number",
    "shown_title",
    "private",
    "status",
    "severity__name",
    "team__name",
    "service_names",
    "started_at",
    "detected_at",
    "declared_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "last_resolved_at",
    "reopen_count",
)


class ServiceNames(StringAgg):
    """Names joined by SERVICES_SEPARATOR, in name order: STRING_AGG (... ORDER BY) on
    PostgreSQL and SQLite 3.44+; an older SQLite (the embedded setup) has no ordered aggregate,
    so GROUP_CONCAT there, in the order the rows come."""

    def __init__(self, field: str) -> None:
        super().__init__(field, Value(SERVICES_SEPARATOR), order_by=field)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        if connection.features.supports_aggregate_order_by_clause:
            return super().as_sqlite(compiler, connection, **extra)
        unordered = self.copy()
        *expressions, _order_by = unordered.get_source_expressions()
        # None is what Aggregate itself keeps for "no ORDER BY"; the stubs do not allow it.
        unordered.set_source_expressions([*expressions, None])  # type: ignore[list-item]
        return unordered.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def _service_names() -> Subquery:
    """The incident's services, by name, as one string (NULL for none), as a correlated
    subquery."""
    names: QuerySet[Any, Any] = (
        Incident.services.through.objects.filter(incident_id=OuterRef("pk"))
        .order_by()
        .values("incident_id")
        .annotate(names=ServiceNames("service__name"))
    )
    return Subquery(names.values("names"), output_field=CharField())


def month_rows(
    month: Month, metrics: list[Metric], *, every: bool
) -> QuerySet[Incident, tuple[Any, ...]]:
    """_FIELDS, then each metric's seconds, per incident. A private incident's title does not
    leave the database.

    The services' names: for `every` incident (the CSV), a join to the services grouped by
    incident (over a month of 1,000,000 incidents, 0.5 s; a subquery per incident, 1.7 s);
    for the first few (the page), a subquery per row read, so the LIMIT spares the rest."""
    rows: QuerySet[Incident, tuple[Any, ...]] = (
        Incident.objects.filter(started_in(month), counted())
        .annotate(
            shown_title=Case(
                When(private=True, then=Value(PRIVATE_TITLE)),
                default=F("title"),
                output_field=CharField(),
            ),
            service_names=ServiceNames("services__name") if every else _service_names(),
            **{f"seconds_{metric.key}": seconds(metric) for metric in metrics},
        )
        .order_by("-started_at", "-number")
        .values_list(*_FIELDS, *(f"seconds_{metric.key}" for metric in metrics))
    )
    return rows


def incident_row(values: tuple[Any, ...], metrics: list[Metric]) -> IncidentRow:
    """One tuple of month_rows() as a row."""
    fields = dict(zip(_FIELDS, values, strict=False))
    durations = values[len(_FIELDS) :]
    return IncidentRow(
        number=fields["number"],
        title=fields["shown_title"],
        severity=fields["severity__name"],
        status=fields["status"],
        team=fields["team__name"] or "",
        services=fields["service_names"] or "",
        started_at=fields["started_at"],
        detected_at=fields["detected_at"],
        declared_at=fields["declared_at"],
        acknowledged_at=fields["acknowledged_at"],
        mitigated_at=fields["mitigated_at"],
        resolved_at=fields["resolved_at"],
        last_resolved_at=fields["last_resolved_at"],
        reopen_count=fields["reopen_count"],
        durations={
            metric.key: as_seconds(value) for metric, value in zip(metrics, durations, strict=True)
        },
        private=fields["private"],
    )


def first_rows(month: Month, metrics: list[Metric], *, limit: int) -> list[IncidentRow]:
    """The newest `limit` rows, in one query."""
    return [
        incident_row(values, metrics) for values in month_rows(month, metrics, every=False)[:limit]
    ]


def all_rows(month: Month, metrics: list[Metric], *, chunk_size: int) -> Iterator[IncidentRow]:
    """Every row, streamed in one query (a server-side cursor on PostgreSQL, read
    `chunk_size` rows at a time): never the month in memory."""
    for values in month_rows(month, metrics, every=True).iterator(chunk_size=chunk_size):
        yield incident_row(values, metrics)
