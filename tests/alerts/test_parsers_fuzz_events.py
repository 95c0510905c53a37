"""Whatever is posted to the Events API and generic endpoints, the answer is never a 5xx.

A 5xx tells the sender to retry: for input that can never succeed, that means retries forever.
"""

import json
from typing import Any

from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.actors import SYSTEM
from alerts.models import IntegrationKind
from alerts.services.integrations import integration_create
from tests.factories import TeamFactory

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from(["\u0000", "\ud800", "x" * 2000, "__class__", "{{ 7*7 }}", "resolved"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
timestamps = (
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat())
    | st.sampled_from(
        ["2015-07-17T08:42:58.315+0000", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]
    )
    | json_values
)


def events(token: str) -> st.SearchStrategy[Any]:
    """Bodies shaped like Events API v2 events, with every field sometimes wrong."""
    payload = st.fixed_dictionaries(
        {},
        optional={
            "summary": st.text(max_size=1100) | json_values,
            "source": st.text() | json_values,
            "severity": st.sampled_from(["critical", "error", "warning", "info"]) | json_values,
            "timestamp": timestamps,
            "component": st.text() | json_values,
            "group": st.text() | json_values,
            "class": st.text() | json_values,
            "custom_details": json_values,
        },
    )
    links = st.lists(st.fixed_dictionaries({}, optional={"href": st.text() | json_values}))
    event = st.fixed_dictionaries(
        {},
        optional={
            "routing_key": st.sampled_from([token, "", "unknown"]) | json_values,
            "event_action": st.sampled_from(["trigger", "acknowledge", "resolve"]) | json_values,
            "dedup_key": st.sampled_from(["k1", "k2", ""]) | st.text(max_size=300) | json_values,
            "payload": payload | json_values,
            "links": links | json_values,
            "images": json_values,
            "client_url": st.text() | json_values,
        },
    )
    return event | json_values


def valid_events(token: str) -> st.SearchStrategy[dict[str, Any]]:
    """Events that pass validation, so the fuzzing reaches the mapping and the upsert too."""
    words = st.text(min_size=1, max_size=300).filter(str.strip)
    payload = st.fixed_dictionaries(
        {
            "summary": words,
            "source": words,
            "severity": st.sampled_from(["critical", "error", "warning", "info"]),
        },
        optional={
            "timestamp": st.datetimes(timezones=st.none() | st.timezones()).map(
                lambda d: d.isoformat()
            ),
            "component": st.text(),
            "group": st.text(),
            "class": st.text(),
            "custom_details": json_values,
        },
    )
    return st.fixed_dictionaries(
        {
            "routing_key": st.just(token),
            "event_action": st.sampled_from(["trigger", "acknowledge", "resolve"]),
            "dedup_key": st.sampled_from(["k1", "k2"]) | words.map(lambda w: w[:255]),
            "payload": payload,
        },
        optional={"links": st.lists(st.fixed_dictionaries({"href": st.text() | json_values}))},
    )


def post(client: Client, url: str, body: Any) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body)
    response = client.post(url, data, content_type="application/json")
    return response.status_code


@FUZZ
@given(data=st.data())
def test_no_event_body_gives_a_server_error(db, client, data):
    _, token = integration_create(
        actor=SYSTEM, name="Fuzz", kind=IntegrationKind.EVENTS_V2, team=TeamFactory()
    )
    for _ in range(3):
        body = data.draw(valid_events(token) | events(token) | st.binary(max_size=200))
        assert post(client, "/hooks/events/v2/enqueue", body) in {202, 400, 415}


GENERIC_TEMPLATES = {
    "title_template": "{{ payload.title }} {{ payload.a.b }}",
    "dedup_key_template": "{{ payload.id }}{{ payload|length }}",
    "severity_template": "{{ payload.severity|lower }}",
    "resolved_template": '{{ payload.status == "resolved" or payload.ok }}',
}


@FUZZ
@given(body=json_values | st.lists(json_values, max_size=120) | st.binary(max_size=200))
def test_no_generic_body_gives_a_server_error(db, client, body):
    for templates in ({}, GENERIC_TEMPLATES):
        _, token = integration_create(
            actor=SYSTEM, name="Fuzz", kind=IntegrationKind.GENERIC, team=TeamFactory(), **templates
        )
        assert post(client, f"/hooks/generic/{token}", body) in {200, 400, 415, 422}
