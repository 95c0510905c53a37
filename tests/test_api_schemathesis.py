"""The API keeps its OpenAPI schema: schemathesis against a live server, as every role.

gunicorn serves the test database with a few incidents, a schedule and integrations; one
schemathesis run per role (all four at once) reads /api/schema/ and runs every check through the
coverage, fuzzing and stateful phases. A failure prints schemathesis' report for that role.

Nobody can be paged and nothing external is called: no Celery worker runs, tasks go to a private
redis-server that dies with the test, nobody has a contact method, and the providers' URLs point
at a closed port.
"""

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import api_token_create
from alerts.models import Integration
from incidents.models import Incident, Service, Severity, Team
from incidents.services import incident_resolve
from oncall.models import Schedule
from postmortems.models import ActionItem, ContributingFactor
from postmortems.services.action_items import action_item_create
from postmortems.services.postmortems import postmortem_create
from tests.alerts.factories import make_integration
from tests.factories import ServiceFactory, TeamFactory, UserFactory, declare, severity
from tests.harness import ROOT, Gunicorn, PrivateRedis, database_url
from tests.oncall.factories import policy, weekly_schedule

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    # Sequences reset: the dictionaries below hold primary keys, which steer what schemathesis
    # generates; without it they depended on the tests run before in the process (under
    # pytest-xdist, on the worker) and the same seed gave other cases from run to run.
    pytest.mark.django_db(transaction=True, serialized_rollback=True, reset_sequences=True),
]

ST = str(ROOT / ".venv" / "bin" / "st")
ROLES = (Role.VIEWER, Role.RESPONDER, Role.MANAGER, Role.ADMIN)
# Test cases per operation and phase; with four roles at once the run stays within about three
# minutes on two cores.
MAX_EXAMPLES = 10
SEED = 1
# Discard, nothing listens there: a provider call would fail at once.
NOWHERE = "http://127.0.0.1:9"

# Operations whose valid-looking input can still be refused with 400 for a reason no schema can
# state: a name that no row has (severity, team, service, user; schemathesis' coverage phase
# makes up names before its fuzzing phase uses the dictionaries below), a window whose end is
# before its start, a time outside the plausible window (ops.timestamps: OpenAPI's date-time has
# no bounds), a public update to a private incident.
RULES_BEYOND_THE_SCHEMA = [
    "POST /api/v1/incidents/",
    "PATCH /api/v1/incidents/{number}/",
    "POST /api/v1/incidents/{number}/severity/",
    "POST /api/v1/incidents/{number}/roles/",
    "POST /api/v1/incidents/{number}/updates/",
    "POST /api/v1/integrations/",
    "PATCH /api/v1/integrations/{id}/",
    "POST /api/v1/schedules/{id}/overrides/",
    "GET /api/v1/schedules/{id}/oncall/",
    "GET /api/v1/schedules/{id}/shifts/",
    # A section the postmortem has not (or a generated one), base_revision missing with
    # sections, a review without reviewers or a comment without text, a due date before today
    # (organisation's zone) or more than five years ahead, won't do without a reason.
    "PATCH /api/v1/incidents/{number}/postmortem/",
    "POST /api/v1/incidents/{number}/postmortem/transitions/",
    "POST /api/v1/action-items/",
    "PATCH /api/v1/action-items/{id}/",
    # A month that has not begun yet: the schema's pattern cannot know today's date.
    "GET /api/v1/reports/monthly/{month}/",
]


def _toml_list(values: list[str] | list[int]) -> str:
    return json.dumps(values)  # a JSON array of strings is a TOML array


def _config(path: Path) -> Path:
    """schemathesis.toml: the seeded names as dictionaries, and the rules above."""
    dictionaries: dict[str, list[str] | list[int]] = {
        "severities": sorted(Severity.objects.values_list("name", flat=True)),
        "teams": sorted(Team.objects.values_list("slug", flat=True)),
        "services": sorted(Service.objects.values_list("slug", flat=True)),
        "users": sorted(User.objects.values_list("username", flat=True)),
        "incidents": sorted(Incident.objects.values_list("number", flat=True)),
        "schedules": sorted(Schedule.objects.values_list("pk", flat=True)),
        "integrations": sorted(Integration.objects.values_list("pk", flat=True)),
        "action_items": sorted(ActionItem.objects.values_list("pk", flat=True)),
        "factors": sorted(ContributingFactor.objects.values_list("slug", flat=True)),
    }
    bindings = {
        "body.severity": "severities",
        "body.default_severity": "severities",
        "body.team": "teams",
        "body.services[*]": "services",
        "body.commander": "users",
        "body.user": "users",
        "body.owner": "users",
        "body.authors[*]": "users",
        "body.reviewers[*]": "users",
        "body.contributing_factors[*]": "factors",
        "body.incident": "incidents",
    }
    lines = [
        f"seed = {SEED}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        # The API refuses NUL in all text (its description says so; ops/parsers.py); a pattern
        # on every string field would say it forty times.
        "allow-x00 = false",
        # Nothing carried over from an earlier run: the same cases every time.
        'database = "none"',
        "[cache]",
        "enabled = false",
        "[phases.stateful]",
        "max-steps = 10",
        # Sequences of valid requests only. Invalid input is sent to every operation by the
        # coverage and fuzzing phases; in a sequence, schemathesis 4.32.5 once charged a valid
        # `{"severity": "SEV1"}` to /severity/ with a mutation of the reopen body's `reason`
        # (ST201 on a 200 that was right; CI of stop 20), and what a linked step carries
        # depends on the other roles' requests, so the same seed does not replay it.
        'generation.mode = "positive"',
        # A body past MAX_REQUEST_BODY_BYTES (many long sections) is refused with 413 before
        # any field is read: a refusal, as the default list's 400s are.
        "[checks.negative_data_rejection]",
        'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", '
        '"422", "428", "429", "5xx"]',
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml_list(values)}"]
    lines.append("[parameters]")
    lines += [f'"{key}" = {{ dictionary = "{name}" }}' for key, name in bindings.items()]
    # Mostly rows that exist, so the fuzzer gets past 404; now and then one that does not.
    lines.append('"path.number" = { dictionary = "incidents", probability = 0.8 }')
    for prefix, name in (
        ("schedules", "schedules"),
        ("integrations", "integrations"),
        ("action-items", "action_items"),
    ):
        lines += [
            "[[operations]]",
            f'include-path-regex = "^/api/v1/{prefix}/[{{]id[}}]/"',
            f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.8 }} }}',
        ]
    lines += [
        "[[operations]]",
        f"include-name = {_toml_list(RULES_BEYOND_THE_SCHEMA)}",
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", '
        '"403", "404", "409", "429", "5xx"]',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tokens() -> dict[str, str]:
    """One person per role with an API token; teams, services, incidents, a schedule, a policy
    and integrations for them to find."""
    people = {
        Role.VIEWER: UserFactory(username="vic", role=Role.VIEWER),
        Role.RESPONDER: UserFactory(username="rosa", role=Role.RESPONDER),
        Role.MANAGER: UserFactory(username="mona", role=Role.MANAGER),
        Role.ADMIN: UserFactory(username="ada", role=Role.ADMIN),
    }
    oncall = UserFactory(username="owen", role=Role.RESPONDER)
    payments = TeamFactory(name="Payments")
    platform = TeamFactory(name="Platform")
    ServiceFactory(name="checkout", team=payments)
    ServiceFactory(name="database", team=platform)
    rosa = people[Role.RESPONDER]
    declare(actor=rosa, title="Checkout is failing", team=payments)
    declare(actor=rosa, title="Database failover", severity=severity("SEV1"), team=platform)
    declare(actor=oncall, title="A private matter", private=True)
    resolved = declare(actor=rosa, title="Yesterday's outage", severity=severity("SEV3"))
    incident_resolve(incident=resolved, actor=rosa, resolution="Rolled back.")
    postmortem_create(incident=resolved, actor=rosa)
    action_item_create(incident=resolved, actor=rosa, title="Canary deploys", owner=oncall)
    schedule = weekly_schedule(
        [rosa, oncall], start=timezone.now() - timedelta(days=3), team=payments
    )
    policy((5, [schedule]), (10, [payments]), name="Payments")
    make_integration(team=payments)
    make_integration(name="Platform hooks", kind="generic", team=platform)
    return {role: api_token_create(user=user)[1] for role, user in people.items()}


@pytest.fixture
def server(tokens: dict[str, str], tmp_path: Path, redis_server: PrivateRedis) -> Iterator[str]:
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_server.url,
        "TWILIO_API_URL": NOWHERE,
        "SLACK_API_URL": f"{NOWHERE}/",
        "EMAIL_URL": "",
        "TOCSIN_DATA_DIR": str(tmp_path / "data"),
    }
    # With the settings every Tocsin web server runs with, as in production.
    web = Gunicorn(tmp_path, env, workers=2, threads=4)
    web.start()
    yield web.url
    web.stop()


def test_the_api_answers_as_its_schema_says_to_every_role(server, tokens, tmp_path, capsys):
    config = _config(tmp_path / "schemathesis.toml")
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    started = time.monotonic()
    for role in ROLES:
        report = tmp_path / f"schemathesis-{role}.txt"
        with report.open("wb") as out:
            runs[role] = (
                subprocess.Popen(
                    [
                        ST,
                        f"--config-file={config}",
                        "run",
                        f"{server}/api/schema/",
                        "--checks=all",
                        "--phases=examples,coverage,fuzzing,stateful",
                        "--workers=1",
                        "--request-timeout=30",
                        "--no-color",
                        f"--header=Authorization: Token {tokens[role]}",
                    ],
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
                report,
            )
    failed = {}
    for role, (process, report) in runs.items():
        code = process.wait(timeout=600)
        if code != 0:
            failed[role] = report.read_text(errors="replace")
    with capsys.disabled():
        print(f"\nschemathesis, {len(ROLES)} roles at once: {time.monotonic() - started:.0f} s")

    assert not failed, "\n\n".join(
        f"===== schemathesis as {role} =====\n{text}" for role, text in failed.items()
    )


def test_the_longest_incident_list_query_the_schema_allows_is_served(server, tokens):
    # Four bytes a character in UTF-8, twelve once percent-encoded: the longest request line.
    wide = "\U0001d11e"
    params = {
        "q": wide * 200,
        "team": wide * 100,
        "service": wide * 100,
        "severity": [wide * 16] * 10,
        "status": ["investigating"] * 10,
        "mine": "false",
        "page": "1",
    }
    request = requests.Request(
        "GET",
        f"{server}/api/v1/incidents/",
        params=params,
        headers={"Authorization": f"Token {tokens[Role.VIEWER]}"},
    ).prepare()
    assert request.url is not None
    assert len(request.url) > 7_000

    response = requests.Session().send(request, timeout=30)

    assert response.status_code == 200, response.text[:500]
