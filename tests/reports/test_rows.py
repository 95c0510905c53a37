"""The month's incident rows (the page's list, the CSV's rows): one query whatever the number
of incidents and services, services by name, a private incident's title withheld."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import builder
from reports.builder import incident_rows, monthly_report
from reports.months import Month
from tests.reports.conftest import at

OCTOBER = Month(2026, 10)
NOW = at("2026-11-05T12:00Z")


def _streamed_queries() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        rows = sum(1 for _ in incident_rows(OCTOBER))
    return rows, len(queries)


def test_incident_rows_is_one_query_however_many_incidents_and_chunks(
    incident, service, monkeypatch
):
    monkeypatch.setattr(builder, "ROWS_CHUNK", 3)
    services = [service(f"service {n}") for n in range(6)]
    for n in range(4):
        incident(f"2026-10-{n + 1:02d}T10:00Z", services=services[n % 3 : n % 3 + 2])
    small = _streamed_queries()
    for n in range(4, 40):
        incident(f"2026-10-{n % 28 + 1:02d}T11:00Z", services=services[n % 5 : n % 5 + 2])
    large = _streamed_queries()

    assert small == (4, 1)
    assert large == (40, 1)


def test_services_are_named_in_name_order_and_an_incident_without_any_has_none(incident, service):
    database, api, cache = service("database"), service("api"), service("cache")
    incident("2026-10-02T10:00Z", services=[database, cache, api])
    incident("2026-10-01T10:00Z")

    rows = list(incident_rows(OCTOBER))

    assert [row.services for row in rows] == ["api, cache, database", ""]
    assert [row.services for row in monthly_report(OCTOBER, now=NOW).incident_rows] == [
        "api, cache, database",
        "",
    ]


def test_a_private_incidents_title_is_withheld_from_the_csv_rows(incident, team):
    incident("2026-10-02T10:00Z", title="Salaries leaked", private=True, team=team("Payroll"))
    incident("2026-10-01T10:00Z", title="Checkout down")

    rows = list(incident_rows(OCTOBER))

    assert [(row.title, row.private, row.team) for row in rows] == [
        ("Private incident", True, "Payroll"),
        ("Checkout down", False, ""),
    ]
