"""Text PostgreSQL cannot store (NUL, unpaired surrogates) and impossible times, sent to every
intake as real requests: each answers a 4xx (problem details under /api/, PagerDuty's shape on
the Events API, a form error on pages), never a 500, and writes nothing. Issue 9, findings 1, 3
and 7, and the same classes everywhere."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from accounts.actors import SYSTEM
from accounts.middleware import TIMEZONE_COOKIE
from accounts.models import Role
from alerts.models import Alert, Integration, IntegrationKind
from alerts.services.integrations import integration_create
from incidents.models import Incident, TimelineEvent
from oncall.models import ScheduleOverride
from tests.factories import TeamFactory, UserFactory, declare
from tests.oncall.factories import weekly_schedule

NUL = "\x00"
SURROGATE = "\ud800"


@dataclass
class World:
    admin: Any
    team: Any
    incident: Incident
    schedule: Any
    integration: Integration
    tokens: dict[str, str]


@pytest.fixture
def world(db: None) -> World:
    admin = UserFactory(username="ada", role=Role.ADMIN)
    team = TeamFactory(name="Payments", slug="payments")
    tokens = {}
    made = {}
    for kind in IntegrationKind.values:
        made[kind], tokens[kind] = integration_create(actor=SYSTEM, name=kind, kind=kind, team=team)
    return World(
        admin=admin,
        team=team,
        incident=declare(actor=admin),
        schedule=weekly_schedule([admin], start=datetime(2025, 1, 6, 9, tzinfo=UTC), team=team),
        integration=made[IntegrationKind.ALERTMANAGER],
        tokens=tokens,
    )


def signed_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def anonymous() -> Client:
    return Client(raise_request_exception=False)


def post_json(client: Client, url: str, body: Any, **kwargs: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **kwargs)


def patch_json(client: Client, url: str, body: Any) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json")


def written() -> tuple[int, ...]:
    return (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        Alert.objects.count(),
        Integration.objects.count(),
        ScheduleOverride.objects.count(),
    )


# Each case: (name, request maker). `bad` is NUL or a lone surrogate.
Case = Callable[[World, str], Any]
CASES: dict[str, Case] = {
    "events api routing key (issue 9 #3)": lambda w, bad: post_json(
        anonymous(),
        "/hooks/events/v2/enqueue",
        {
            "routing_key": bad,
            "event_action": "trigger",
            "payload": {"summary": "x", "source": "s", "severity": "error"},
        },
    ),
    "alertmanager label key": lambda w, bad: post_json(
        anonymous(),
        "/hooks/alertmanager/",
        {
            "version": "4",
            "status": "firing",
            "alerts": [
                {"status": "firing", "labels": {bad: "x"}, "startsAt": "2026-01-01T00:00:00Z"}
            ],
        },
        headers={"Authorization": f"Bearer {w.tokens[IntegrationKind.ALERTMANAGER]}"},
    ),
    "alertmanager bearer token": lambda w, bad: post_json(
        anonymous(), "/hooks/alertmanager/", {}, headers={"Authorization": f"Bearer a{NUL}"}
    ),
    "incident labels key (issue 9 #3)": lambda w, bad: post_json(
        signed_in(w.admin),
        "/api/v1/incidents/",
        {"title": "t", "severity": "SEV2", "labels": {bad: "v"}},
    ),
    "incident labels value": lambda w, bad: patch_json(
        signed_in(w.admin), f"/api/v1/incidents/{w.incident.number}/", {"labels": {"k": bad}}
    ),
    "incident team slug": lambda w, bad: post_json(
        signed_in(w.admin), "/api/v1/incidents/", {"title": "t", "severity": "SEV2", "team": bad}
    ),
    "incident severity name": lambda w, bad: post_json(
        signed_in(w.admin), f"/api/v1/incidents/{w.incident.number}/severity/", {"severity": bad}
    ),
    "incident unknown field": lambda w, bad: post_json(
        signed_in(w.admin), f"/api/v1/incidents/{w.incident.number}/notes/", {bad: "x"}
    ),
    "incident role user": lambda w, bad: post_json(
        signed_in(w.admin),
        f"/api/v1/incidents/{w.incident.number}/roles/",
        {"role": "commander", "user": bad},
    ),
    "incident status choice": lambda w, bad: post_json(
        signed_in(w.admin), f"/api/v1/incidents/{w.incident.number}/status/", {"status": bad}
    ),
    "integration severity map key (issue 9 #3)": lambda w, bad: patch_json(
        signed_in(w.admin),
        f"/api/v1/integrations/{w.integration.pk}/",
        {"severity_map": {bad: "SEV1"}},
    ),
    "integration severity map value": lambda w, bad: post_json(
        signed_in(w.admin),
        "/api/v1/integrations/",
        {"name": "n", "kind": "alertmanager", "team": "payments", "severity_map": {"x": bad}},
    ),
    "integration team slug": lambda w, bad: post_json(
        signed_in(w.admin), "/api/v1/integrations/", {"name": "n", "kind": "generic", "team": bad}
    ),
    "integration default severity": lambda w, bad: patch_json(
        signed_in(w.admin),
        f"/api/v1/integrations/{w.integration.pk}/",
        {"default_severity": bad},
    ),
    "override user": lambda w, bad: post_json(
        signed_in(w.admin),
        f"/api/v1/schedules/{w.schedule.pk}/overrides/",
        {"user": bad, "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"},
    ),
}

# Only NUL travels in an address or a form; a lone surrogate cannot be percent-encoded.
NUL_ONLY: dict[str, Callable[[World], Any]] = {
    "user calendar feed (issue 9 #3)": lambda w: anonymous().get("/oncall/users/%00.ics"),
    "schedule calendar feed (issue 9 #3)": lambda w: anonymous().get("/oncall/schedules/%00.ics"),
    "generic webhook token": lambda w: post_json(anonymous(), "/hooks/generic/%00", {}),
    "alertmanager path token": lambda w: post_json(anonymous(), "/hooks/alertmanager/%00", {}),
    "ack link": lambda w: anonymous().get("/ack/%00"),
    "incident list query": lambda w: signed_in(w.admin).get("/api/v1/incidents/?team=%00"),
    "incident search": lambda w: signed_in(w.admin).get("/api/v1/incidents/?q=%00"),
    "on-call at": lambda w: signed_in(w.admin).get(
        f"/api/v1/schedules/{w.schedule.pk}/oncall/?at=%00"
    ),
    "integration form severity map": lambda w: signed_in(w.admin).post(
        f"/integrations/{w.integration.pk}/edit/",
        {
            "name": "Prod",
            "severity_map": f"crit{NUL} = SEV1",
            "grouping_labels": "alertname",
            "group_window": "5",
            "max_incidents_per_minute": "3",
        },
    ),
    "schedule form zone": lambda w: signed_in(w.admin).post(
        "/schedules/new", {"team": w.team.pk, "name": "x", "time_zone": f"UTC{NUL}"}
    ),
    "override form note": lambda w: signed_in(w.admin).post(
        f"/schedules/{w.schedule.pk}/overrides/new",
        {"user": w.admin.pk, "start": "2030-01-01T00:00", "end": "2030-01-02T00:00", "note": NUL},
    ),
    "contact method address": lambda w: signed_in(w.admin).post(
        "/me/paging/methods/", {"kind": "email", "address": f"a{NUL}@example.com"}
    ),
    "declare form title": lambda w: signed_in(w.admin).post(
        "/incidents/new/", {"title": NUL, "severity": "1"}
    ),
}


def assert_refused(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if response.wsgi_request.path.startswith("/api/"):
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_unstorable_text_in_a_json_body_is_refused_and_writes_nothing(world, case, bad):
    before = written()

    response = case(world, bad)

    assert_refused(response)
    assert written() == before


@pytest.mark.parametrize("case", NUL_ONLY.values(), ids=NUL_ONLY.keys())
def test_a_nul_in_an_address_query_or_form_is_refused_and_writes_nothing(world, case):
    before = written()

    response = case(world)

    assert_refused(response)
    assert written() == before


# The reported reproductions of impossible times, as requests (issue 9 #1).
TIMES: dict[str, Callable[[World], Any]] = {
    "incident started_at year 1": lambda w: post_json(
        signed_in(w.admin),
        "/api/v1/incidents/",
        {"title": "t", "severity": "SEV2", "started_at": "0001-01-01T00:00:00Z"},
    ),
    "incident started_at year 9999": lambda w: patch_json(
        signed_in(w.admin),
        f"/api/v1/incidents/{w.incident.number}/",
        {"started_at": "9999-12-31T23:59:59Z"},
    ),
    "on-call ?at= empty": lambda w: signed_in(w.admin).get(
        f"/api/v1/schedules/{w.schedule.pk}/oncall/?at="
    ),
    "on-call ?at= year 1": lambda w: signed_in(w.admin).get(
        f"/api/v1/schedules/{w.schedule.pk}/oncall/?at=0001-01-01T00:00:00Z"
    ),
    "shifts ?start= year 9999": lambda w: signed_in(w.admin).get(
        f"/api/v1/schedules/{w.schedule.pk}/shifts/?start=9999-12-20T00:00:00Z"
    ),
    "override form year 1": lambda w: signed_in(w.admin).post(
        f"/schedules/{w.schedule.pk}/overrides/new",
        {"user": w.admin.pk, "start": "0001-01-01T00:00", "end": "0001-01-02T00:00"},
    ),
    "override api year 9999": lambda w: post_json(
        signed_in(w.admin),
        f"/api/v1/schedules/{w.schedule.pk}/overrides/",
        {"user": "ada", "start": "9999-12-30T00:00:00Z", "end": "9999-12-31T00:00:00Z"},
    ),
}


@pytest.mark.parametrize("case", TIMES.values(), ids=TIMES.keys())
def test_an_impossible_time_is_refused_and_writes_nothing(world, case):
    before = written()

    response = case(world)

    assert_refused(response)
    assert written() == before


@pytest.mark.parametrize("cookie", ["America", "x" * 300])
@pytest.mark.parametrize("url", ["/accounts/login/", "/", "/schedules/", "/api/v1/incidents/"])
def test_a_zone_cookie_that_names_no_zone_breaks_no_page(world, cookie, url):
    client = anonymous() if url == "/accounts/login/" else signed_in(world.admin)
    client.cookies[TIMEZONE_COOKIE] = cookie

    assert client.get(url).status_code == 200
