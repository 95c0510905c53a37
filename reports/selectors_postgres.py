"""The month's figures on PostgreSQL: overall, by severity, by team, by service and the trend,
in three queries, with the same counting rules and figures as reports.selectors computes with
the ORM on SQLite (selectors.month_figures and by_service pick one or the other).

- This month: one scan, GROUP BY GROUPING SETS ((), (severity), (team)), where the ORM needs
  a query (and a scan) for each.
- The twelve months before it, for the trend and the previous month's figures: a UNION ALL of
  one aggregate per month, each reading its own range of the started_at index, so it sorts
  only its own durations for the percentiles.
- By service, this month's figures and the previous month's counts: each incident's services
  found through the (incident, service) index (LATERAL), never a scan of every incident's.

Each reads the incident_started_figures index alone (it includes every column they need), and
computes each duration once per incident, in a subquery the planner keeps apart (OFFSET 0),
rather than once per aggregate over it. The queries are text with parameters: the ORM has no
GROUPING SETS nor LATERAL.
"""

from typing import Any

from django.db import connection

from incidents.models import OPEN_STATUSES, Incident, Service, Severity, Team
from reports.definitions import Anchor, Metric
from reports.months import Month, organisation_zone
from reports.sql import Dialect

FIGURES = ("n", "mean", "median", "p90", "max")


def _durations(sql: Dialect, metrics: list[Metric]) -> str:
    """Each metric's duration in seconds, as d_<key>, from incident `i`."""
    return ", ".join(
        f"{sql.seconds(f'i.{metric.end_field}', f'i.{metric.start_field}')} AS d_{metric.key}"
        for metric in metrics
    )


def _figures(metrics: list[Metric], measured: list[Metric]) -> str:
    """n, mean, median, p90 and max of each of `measured`, over the d_<key> columns; typed
    NULLs (and n 0) for the other metrics, so every branch of a UNION has the same columns."""
    columns = []
    for metric in metrics:
        key = metric.key
        if metric in measured:
            # NULL exactly when the end is: the start times are never NULL.
            columns += [
                f"COUNT(d_{key}) AS {key}_n",
                f"AVG(d_{key}) AS {key}_mean",
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY d_{key}) AS {key}_median",
                f"percentile_cont(0.9) WITHIN GROUP (ORDER BY d_{key}) AS {key}_p90",
                f"MAX(d_{key}) AS {key}_max",
            ]
        else:
            columns += [f"0 AS {key}_n"] + [
                f"NULL::float8 AS {key}_{figure}" for figure in FIGURES[1:]
            ]
    return ", ".join(columns)


def _counted_in(name: str) -> str:
    """Incident `i` started in the month whose bounds are the parameters name_start and
    name_end, and is counted (reports.selectors.counted)."""
    return (
        f"i.started_at >= %({name}_start)s AND i.started_at < %({name}_end)s"
        " AND NOT i.drill AND i.merged_into_id IS NULL"
    )


def _bounds(sql: Dialect, name: str, month: Month) -> dict[str, Any]:
    zone = organisation_zone()
    return {f"{name}_start": sql.when(month.start(zone)), f"{name}_end": sql.when(month.end(zone))}


def _rows(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def this_month(
    month: Month, metrics: list[Metric], anchor: Anchor, severities: list[Severity]
) -> tuple[dict[str, Any], dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """The month's overall row, its rows by severity id and its rows by team (team_id,
    team__name, team__slug), in one query. A row has the counts (n_incidents, n_open,
    n_reopened, n_reopens, n_within) and every metric's figures."""
    sql = Dialect.current()
    params: dict[str, Any] = _bounds(sql, "month", month)
    params["open"] = list(OPEN_STATUSES)
    # Acknowledged within the severity's response target (reports.selectors.by_severity),
    # each target a parameter: no join to the severities for every incident.
    within = []
    for index, severity in enumerate(severities):
        params[f"severity_{index}"] = severity.pk
        params[f"target_{index}"] = severity.response_target
        within.append(
            f"(i.severity_id = %(severity_{index})s"
            f" AND i.acknowledged_at <= i.{anchor.field} + %(target_{index})s)"
        )
    # Table names, column names and Dialect's SQL around them; every value is a parameter.
    query = f"""
        SELECT GROUPING(m.severity_id) AS all_severities, GROUPING(m.team_id) AS all_teams,
               m.severity_id, m.team_id, t.name AS team__name, t.slug AS team__slug,
               COUNT(*) AS n_incidents,
               COUNT(*) FILTER (WHERE m.is_open) AS n_open,
               COUNT(*) FILTER (WHERE m.reopen_count > 0) AS n_reopened,
               COALESCE(SUM(m.reopen_count), 0) AS n_reopens,
               COUNT(*) FILTER (WHERE m.within) AS n_within,
               {_figures(metrics, metrics)}
        FROM (
            SELECT i.severity_id, i.team_id, i.reopen_count,
                   i.status = ANY(%(open)s) AS is_open,
                   ({" OR ".join(within) or "FALSE"}) AS within,
                   {_durations(sql, metrics)}
            FROM {Incident._meta.db_table} i
            WHERE {_counted_in("month")}
            {sql.fence()}
        ) m
        LEFT JOIN {Team._meta.db_table} t ON t.id = m.team_id
        GROUP BY GROUPING SETS ((), (m.severity_id), (m.team_id, t.name, t.slug))
    """  # noqa: S608
    # The empty grouping set has its row even when the month has no incident, as an aggregate
    # without GROUP BY has.
    overall: dict[str, Any] = {}
    by_severity: dict[int, dict[str, Any]] = {}
    by_team: list[dict[str, Any]] = []
    for row in _rows(query, params):
        if row["all_severities"] and row["all_teams"]:
            overall = row
        elif not row["all_severities"]:
            by_severity[row["severity_id"]] = row
        else:
            by_team.append(row)
    return overall, by_severity, by_team


def months_before(
    months: list[Month], metrics: list[Metric], *, measured: Month, trend_metric: Metric
) -> dict[Month, dict[str, Any]]:
    """A row per month of `months`: n_incidents and `trend_metric`'s figures, every metric's
    for `measured`; a month without incidents has its row, of zeros."""
    sql = Dialect.current()
    params: dict[str, Any] = {}
    branches = []
    for index, point in enumerate(months):
        params |= _bounds(sql, f"m{index}", point)
        figured = metrics if point == measured else [trend_metric]
        branches.append(
            f"""
            SELECT {index} AS bucket, COUNT(*) AS n_incidents, {_figures(metrics, figured)}
            FROM (
                SELECT {_durations(sql, figured)}
                FROM {Incident._meta.db_table} i
                WHERE {_counted_in(f"m{index}")}
                {sql.fence()}
            ) m
            """  # noqa: S608
        )
    rows = _rows(" UNION ALL ".join(branches), params)
    return {months[row["bucket"]]: row for row in rows}


def _with_services(sql: Dialect, incidents: str) -> str:
    """The rows of `incidents` (a subquery with an `id`) as m, each with one of its services'
    ids as l.service_id (NULL for none): an incident with two services comes twice."""
    through = Incident.services.through._meta.db_table
    # Each incident finds its services through the (incident, service) index, a LATERAL join
    # kept apart (OFFSET 0): merged into the join around it, PostgreSQL may plan a hash join
    # that reads every incident's services, as it does once the month is a few percent of
    # the table.
    return f"""
        ({incidents}) m
        LEFT JOIN LATERAL (
            SELECT st.service_id FROM {through} st WHERE st.incident_id = m.id {sql.fence()}
        ) l ON TRUE
    """  # noqa: S608


def by_service(month: Month, metrics: list[Metric]) -> list[dict[str, Any]]:
    """A row per service (services__id, services__name, services__slug; None for incidents
    without one) with incidents this month: its counts and figures, and n_previous, its
    incidents the month before."""
    sql = Dialect.current()
    params: dict[str, Any] = (
        _bounds(sql, "month", month)
        | _bounds(sql, "previous", month.previous())
        | {"open": list(OPEN_STATUSES)}
    )
    table = Incident._meta.db_table
    this_month = f"""
        SELECT i.id, i.status = ANY(%(open)s) AS is_open, {_durations(sql, metrics)}
        FROM {table} i WHERE {_counted_in("month")} {sql.fence()}
    """  # noqa: S608
    previous_month = f"SELECT i.id FROM {table} i WHERE {_counted_in('previous')} {sql.fence()}"  # noqa: S608
    # Services' names are joined to the sixty-odd groups, not to every row; the previous
    # month's counts are hashed, not sorted with this month's durations.
    query = f"""
        SELECT g.*, COALESCE(p.n, 0) AS n_previous,
               s.name AS services__name, s.slug AS services__slug
        FROM (
            SELECT l.service_id AS services__id, COUNT(*) AS n_incidents,
                   COUNT(*) FILTER (WHERE m.is_open) AS n_open,
                   {_figures(metrics, metrics)}
            FROM {_with_services(sql, this_month)}
            GROUP BY l.service_id
        ) g
        LEFT JOIN (
            SELECT l.service_id, COUNT(*) AS n
            FROM {_with_services(sql, previous_month)}
            GROUP BY l.service_id
        ) p ON p.service_id IS NOT DISTINCT FROM g.services__id
        LEFT JOIN {Service._meta.db_table} s ON s.id = g.services__id
    """  # noqa: S608
    return _rows(query, params)
