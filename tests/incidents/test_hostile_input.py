"""Hostile input to the incidents API and services (findings 1 and 3 of issue 9): impossible
times and text PostgreSQL cannot store are refused with a 400 naming the field, nothing is
written; and a time stored before these checks never breaks a page or an answer."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Incident, TimelineEvent
from tests.factories import TeamFactory, declare, severity
from tests.incidents.api_support import API, api_client, assert_problem, incident_url

NUL = "\x00"
SURROGATE = "\ud800"
YEAR_1 = datetime(1, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
ZONES = ["America/Los_Angeles", "Europe/London", "Asia/Tokyo"]
VALID = {"title": "Checkout is failing", "severity": "SEV2"}


def send(client: Any, method: str, url: str, body: Any) -> Any:
    # Encoded here: DRF's test renderer cannot encode a lone surrogate, json.dumps escapes it.
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "1999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-12:00",
        "2200-01-01T00:00:00Z",
    ],
)
def test_declaring_with_an_impossible_start_is_refused_naming_it(responder, when):
    response = send(
        api_client(responder), "post", f"{API}/incidents/", {**VALID, "started_at": when}
    )

    problem = assert_problem(response, 400)
    assert list(problem["errors"]) == ["started_at"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_editing_an_impossible_start_is_refused_naming_it(responder, when):
    incident = declare(actor=responder)

    response = send(api_client(responder), "patch", incident_url(incident), {"started_at": when})

    assert list(assert_problem(response, 400)["errors"]) == ["started_at"]
    incident.refresh_from_db()
    assert incident.started_at.year >= 2000


@pytest.mark.parametrize(
    ("labels", "field"),
    [
        ({NUL: "v"}, "labels.\\x00"),
        ({SURROGATE: "v"}, "labels.\\ud800"),
        ({"team": NUL}, "labels.team"),
        ({"team": SURROGATE}, "labels.team"),
    ],
)
def test_labels_with_unstorable_keys_or_values_are_refused_naming_them(responder, labels, field):
    response = send(api_client(responder), "post", f"{API}/incidents/", {**VALID, "labels": labels})

    assert list(assert_problem(response, 400)["errors"]) == [field]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("name", ["severity", "team", "commander", "title", "summary"])
@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_an_unstorable_value_in_any_declare_field_is_refused(responder, name, bad):
    TeamFactory(slug="payments")

    response = send(api_client(responder), "post", f"{API}/incidents/", {**VALID, name: bad})

    assert list(assert_problem(response, 400)["errors"]) == [name]


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_an_unstorable_service_slug_is_refused(responder, bad):
    response = send(
        api_client(responder), "post", f"{API}/incidents/", {**VALID, "services": [bad]}
    )

    assert list(assert_problem(response, 400)["errors"]) == ["services.0"]


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_an_unknown_field_named_with_unstorable_text_is_refused_not_a_500(responder, bad):
    response = send(api_client(responder), "post", f"{API}/incidents/", {**VALID, bad: 1})

    assert assert_problem(response, 400)["errors"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("status", {"status": SURROGATE}),
        ("severity", {"severity": NUL}),
        ("roles", {"role": "commander", "user": NUL}),
        ("roles", {"role": SURROGATE, "user": "rosa"}),
        ("notes", {"text": SURROGATE}),
        ("updates", {"message": NUL}),
        ("resolve", {"resolution": SURROGATE}),
    ],
)
def test_an_action_with_unstorable_text_is_refused(responder, action, body):
    incident = declare(actor=responder)
    entries = TimelineEvent.objects.count()

    response = send(api_client(responder), "post", incident_url(incident, action), body)

    assert assert_problem(response, 400)["errors"]
    assert TimelineEvent.objects.count() == entries


@pytest.mark.parametrize("when", [YEAR_1, datetime(1999, 12, 31, tzinfo=UTC)])
def test_the_declare_service_refuses_a_start_before_2000(responder, when):
    with pytest.raises(ValidationError) as caught:
        declare(actor=responder, started_at=when)

    assert list(caught.value.message_dict) == ["started_at"]


def test_the_declare_service_refuses_unstorable_label_keys(responder):
    with pytest.raises(ValidationError) as caught:
        declare(actor=responder, labels={SURROGATE: "v"})

    assert list(caught.value.message_dict) == ["labels"]
    assert not Incident.objects.exists()


def test_the_edit_service_refuses_an_impossible_start_and_unstorable_labels(responder):
    incident = declare(actor=responder)

    with pytest.raises(ValidationError) as caught:
        services.incident_update_details(
            incident=incident, actor=responder, started_at=YEAR_1, labels={NUL: "v"}
        )

    assert sorted(caught.value.message_dict) == ["labels", "started_at"]


@pytest.fixture
def edge_incident(responder):
    """An incident whose times were written before they were checked (or by hand)."""

    def make(when: datetime) -> Incident:
        incident = declare(actor=responder, severity=severity("SEV3"))
        Incident.objects.filter(pk=incident.pk).update(
            started_at=when, detected_at=when, declared_at=when, acknowledged_at=when
        )
        incident.timeline.update(occurred_at=when)
        return incident

    return make


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("when", [YEAR_1, YEAR_9999])
def test_a_stored_edge_time_leaves_every_page_and_answer_working_in_any_zone(
    responder, edge_incident, zone, when
):
    incident = edge_incident(when)
    responder.timezone = zone
    responder.save(update_fields=["timezone"])
    web = Client()
    web.force_login(responder)
    api = api_client(responder)

    for client, url in [
        (web, "/"),
        (web, incident.get_absolute_url()),
        (web, f"/teams/{incident.team.slug}/" if incident.team else "/teams/"),
        (api, f"{API}/incidents/"),
        (api, incident_url(incident)),
        (api, incident_url(incident, "timeline")),
        (web, f"{API}/incidents/"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_the_api_answers_an_edge_time_as_the_same_instant(responder, edge_incident):
    incident = edge_incident(YEAR_1)
    responder.timezone = "America/Los_Angeles"
    responder.save(update_fields=["timezone"])
    web = Client()
    web.force_login(responder)

    body = web.get(incident_url(incident)).json()

    assert datetime.fromisoformat(body["started_at"]) == YEAR_1
    assert datetime.fromisoformat(body["declared_at"]) == YEAR_1


def test_a_start_of_impact_a_minute_ago_is_still_accepted(responder):
    when = (timezone.now() - timedelta(minutes=1)).isoformat()

    response = send(
        api_client(responder), "post", f"{API}/incidents/", {**VALID, "started_at": when}
    )

    assert response.status_code == 201, response.content
