"""GET /api/v1/reports/monthly/<month>/: the report as JSON, for managers and admins."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from incidents.services import incident_resolve
from reports.api.views import MONTH_PATTERN
from reports.export import report_json
from reports.months import Month
from reports.sql import postgres_zone_names
from tests.factories import ServiceFactory, TeamFactory, declare
from tests.incidents.api_support import API, JsonClient, api_client, assert_problem
from tests.reports.export_support import (
    BASE_URL,
    export_settings,
    hand_built_report,
    november,
    utc,
)

URL = f"{API}/reports/monthly/2026-11/"
PATH = "/api/v1/reports/monthly/{month}/"
ARABIC_2026_11 = "\u0662\u0660\u0662\u0666-\u0661\u0661"


@pytest.fixture(autouse=True)
def paris(settings):
    export_settings(settings)


@pytest.fixture
def month(clock, responder):
    return november(clock, responder)


def _approx(n, left_out, mean=None, median=None, p90=None, maximum=None) -> dict[str, Any]:
    figures = {"mean": mean, "median": median, "p90": p90, "max": maximum}
    return {
        "n": n,
        "left_out": left_out,
        **{key: None if value is None else pytest.approx(value) for key, value in figures.items()},
    }


def test_a_manager_gets_the_months_figures(month, manager):
    response = api_client(manager).get(URL)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    report = response.json()
    assert (report["month"], report["time_zone"], report["anchor"]) == (
        "2026-11",
        "Europe/Paris",
        "detected",
    )
    assert report["totals"] == {
        "incidents": 3,
        "open": 1,
        "drills_excluded": 1,
        "merged_excluded": 1,
        "reopened_incidents": 1,
        "reopens": 1,
        "previous_incidents": 1,
    }
    # TTD 0, 300 and 0; TTA 1800 and 300 (INC-4 never acknowledged); TTM 3300 only; TTR
    # 1800 and 97380 (INC-4 still open). p90 interpolates: 0 + 0.8 * 300, 300 + 0.9 * 1500,
    # 1800 + 0.9 * 95580.
    assert report["overall"] == {
        "time_to_detect": {
            "this_month": _approx(3, 0, 100, 0, 240, 300),
            "previous_month": _approx(1, 0, 0, 0, 0, 0),
        },
        "time_to_acknowledge": {
            "this_month": _approx(2, 1, 1050, 1050, 1650, 1800),
            "previous_month": _approx(1, 0, 2700, 2700, 2700, 2700),
        },
        "time_to_mitigate": {
            "this_month": _approx(1, 2, 3300, 3300, 3300, 3300),
            "previous_month": _approx(0, 1),
        },
        "time_to_resolve": {
            "this_month": _approx(2, 1, 49590, 49590, 87822, 97380),
            "previous_month": _approx(1, 0, 2700, 2700, 2700, 2700),
        },
    }


def test_the_report_lists_the_months_incidents_with_their_times(month, manager):
    report = api_client(manager).get(URL).json()

    assert [row["reference"] for row in report["incidents"]] == ["INC-4", "INC-3", "INC-2"]
    assert report["incidents"][1] == {
        "reference": "INC-3",
        "number": 3,
        "title": "Checkout is failing",
        "private": False,
        "severity": "SEV1",
        "status": "resolved",
        "team": "Payments",
        "services": "checkout, database",
        "started_at": "2026-11-03T09:00:00+01:00",
        "detected_at": "2026-11-03T09:05:00+01:00",
        "declared_at": "2026-11-03T09:07:00+01:00",
        "acknowledged_at": "2026-11-03T09:10:00+01:00",
        "mitigated_at": "2026-11-03T10:00:00+01:00",
        "resolved_at": "2026-11-04T12:08:00+01:00",
        "last_resolved_at": "2026-11-04T14:30:00+01:00",
        "reopen_count": 1,
        "durations": {
            "time_to_detect": 300.0,
            "time_to_acknowledge": 300.0,
            "time_to_mitigate": 3300.0,
            "time_to_resolve": 97380.0,
        },
        "url": f"{BASE_URL}/incidents/3/",
    }
    assert report["incidents_not_listed"] == 0


def test_the_report_states_its_definitions(month, manager):
    report = api_client(manager).get(URL).json()

    resolve = next(m for m in report["metrics"] if m["key"] == "time_to_resolve")
    assert resolve["definition"] == (
        "From detection to the first resolution; reopens are counted separately."
    )
    assert (resolve["start_field"], resolve["end_field"]) == ("detected_at", "resolved_at")


def test_the_query_count_does_not_depend_on_the_incidents(month, manager, clock, responder):
    client = api_client(manager)
    # The process's first report also reads the database's zone names, once for its life;
    # whether this test is that first depends on what ran before it in the process.
    postgres_zone_names()
    with CaptureQueriesContext(connection) as three:
        assert client.get(URL).status_code == 200
    clock.now = utc("2026-11-30 23:50")
    for number in range(5):
        service = ServiceFactory(name=f"extra-{number}", team=TeamFactory(name=f"Extra {number}"))
        extra = declare(
            actor=responder,
            title=f"Extra {number}",
            services=[service],
            team=service.team,
            started_at=utc(f"2026-11-1{number} 09:00"),
        )
        incident_resolve(incident=extra, actor=responder)

    with CaptureQueriesContext(connection) as eight:
        report = client.get(URL).json()

    assert report["totals"]["incidents"] == 8
    assert len(eight) == len(three)


def test_an_admin_gets_the_report(month, admin_user):
    response = api_client(admin_user).get(URL)

    assert response.status_code == 200
    assert response.json()["totals"]["incidents"] == 3


@pytest.mark.parametrize("persona", ["responder", "viewer"])
def test_responders_and_viewers_are_refused_with_403(db, request, persona):
    user = request.getfixturevalue(persona)

    problem = assert_problem(api_client(user).get(URL), 403)

    assert problem["detail"] == "Only managers and admins may read the incident reports."


def test_a_refused_caller_learns_nothing_of_the_month_either(viewer):
    assert_problem(api_client(viewer).get(f"{API}/reports/monthly/2026-13/"), 403)


def test_an_anonymous_caller_is_refused_with_401(db):
    assert_problem(api_client().get(URL), 401)


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "'2026-13' is not a month: the month is 01 to 12."),
        ("2026-00", "'2026-00' is not a month: the month is 01 to 12."),
        ("abc", "'abc' is not a month: write it as YYYY-MM, e.g. 2026-11."),
        ("2026-1", "'2026-1' is not a month: write it as YYYY-MM, e.g. 2026-11."),
        ("1999-12", "'1999-12' is out of range: years 2000 to 2100."),
        ("2101-01", "'2101-01' is out of range: years 2000 to 2100."),
        # Month.parse forgives these; an address is exact.
        ("%202026-11", "' 2026-11' is not a month: write it as YYYY-MM, e.g. 2026-11."),
        # Arabic-Indic digits: int() reads them, a month in an address may not have them.
        (ARABIC_2026_11, f"{ARABIC_2026_11!r} is not a month: write it as YYYY-MM, e.g. 2026-11."),
    ],
)
def test_a_month_that_is_not_one_is_refused_with_400(manager, month, message):
    problem = assert_problem(api_client(manager).get(f"{API}/reports/monthly/{month}/"), 400)

    assert problem["detail"] == message
    assert problem["errors"] == {"month": [message]}


@pytest.fixture
def schema(db) -> dict[str, Any]:
    response = JsonClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_schema_describes_the_endpoint(schema):
    operation = schema["paths"][PATH]["get"]

    (month,) = operation["parameters"]
    assert (month["name"], month["in"], month["schema"]["pattern"]) == (
        "month",
        "path",
        MONTH_PATTERN,
    )
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/MonthlyReport"}
    for code in ("400", "401", "403"):
        assert list(operation["responses"][code]["content"]) == ["application/problem+json"]


@pytest.mark.parametrize(
    "text", ["2000-01", "2026-11", "2099-12", "2100-12", "1999-12", "2101-01", "2026-00", "2026-13"]
)
def test_the_schemas_month_pattern_allows_exactly_the_months_there_are(text):
    try:
        Month.parse(text)
        accepted = True
    except ValueError:
        accepted = False

    assert bool(re.fullmatch(MONTH_PATTERN, text)) == accepted


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema says it: null among the types."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def _schema_errors(schema: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Where `report` strays from the schema's MonthlyReport, as schemathesis would find it."""
    components = _nullable(schema["components"]["schemas"])
    document = {"components": {"schemas": components}}
    registry = Registry().with_resource("urn:schema", DRAFT202012.create_resource(document))
    validator = Draft202012Validator(
        {"$ref": "urn:schema#/components/schemas/MonthlyReport"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report))


def test_the_answer_is_what_the_schema_says(month, manager, schema):
    report = api_client(manager).get(URL).json()

    assert _schema_errors(schema, report) == []


def test_a_report_with_every_part_filled_is_what_the_schema_says(schema):
    # Action items, responder load, recommendations, a severity's target: all present.
    report = json.loads(json.dumps(report_json(hand_built_report())))

    assert _schema_errors(schema, report) == []


def test_the_schema_check_finds_a_report_that_strays(schema):
    report = json.loads(json.dumps(report_json(hand_built_report())))
    report["totals"]["incidents"] = "3"
    del report["incidents"][0]["url"]

    assert _schema_errors(schema, report) == [
        "['incidents', 0]: 'url' is a required property",
        "['totals', 'incidents']: '3' is not of type 'integer'",
    ]


def test_a_month_that_has_not_begun_is_refused_as_the_page_refuses_it(manager, clock):
    clock.now = datetime(2026, 11, 20, 12, tzinfo=UTC)

    problem = assert_problem(api_client(manager).get(f"{API}/reports/monthly/2026-12/"), 400)

    message = "December 2026 has not begun yet: the latest report is November 2026's."
    assert problem["errors"] == {"month": [message]}
    assert api_client(manager).get(f"{API}/reports/monthly/2026-11/").status_code == 200
