"""A reopened incident keeps its first resolution (time to resolve runs to it), follows the
last one, and counts its reopens; the incident page and the API show all three."""

import re
from datetime import UTC, datetime

from incidents import services
from incidents.models import Incident
from tests.clock import T0, Clock
from tests.factories import declare
from tests.incidents.api_support import api_client, assert_problem, incident_url


def resolved_twice(responder, clock: Clock) -> Incident:
    """Declared at T0, resolved at T0+30 min, reopened at T0+45 min, resolved at T0+2 h."""
    incident = declare(responder)
    clock.advance(minutes=30)
    services.incident_resolve(incident=incident, actor=responder, resolution="Rolled back")
    clock.advance(minutes=15)
    services.incident_reopen(incident=incident, actor=responder, reason="Errors are back")
    clock.advance(minutes=75)
    services.incident_resolve(incident=incident, actor=responder, resolution="Fixed the pool")
    incident.refresh_from_db()
    return incident


def test_the_first_resolution_stamps_both_resolutions(responder, clock):
    incident = declare(responder)
    clock.advance(minutes=30)

    services.incident_resolve(incident=incident, actor=responder, resolution="Rolled back")

    incident.refresh_from_db()
    assert incident.resolved_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert incident.last_resolved_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert incident.reopen_count == 0


def test_resolve_reopen_resolve_keeps_the_first_resolution_and_moves_the_last(responder, clock):
    incident = resolved_twice(responder, clock)

    assert incident.resolved_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert incident.last_resolved_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert incident.reopen_count == 1


def test_time_to_resolve_runs_to_the_first_resolution(responder, clock):
    incident = resolved_twice(responder, clock)

    assert incident.time_to_resolve is not None
    assert incident.time_to_resolve.total_seconds() == 30 * 60


def test_each_reopen_counts(responder, clock):
    incident = resolved_twice(responder, clock)
    clock.advance(minutes=10)

    services.incident_reopen(incident=incident, actor=responder)

    incident.refresh_from_db()
    assert incident.reopen_count == 2
    assert incident.last_resolved_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)


def test_the_incident_page_shows_the_reopens_and_both_resolutions(signed_in, responder, clock):
    incident = resolved_twice(responder, clock)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert '<dt>Reopened</dt><dd id="incident-reopens">1 time</dd>' in content
    first = re.search(r'<dd id="incident-first-resolved">(.*?)</dd>', content)[1]  # type: ignore[index]
    last = re.search(r'<dd id="incident-last-resolved">(.*?)</dd>', content)[1]  # type: ignore[index]
    assert 'datetime="2026-03-01T09:30:00+00:00"' in first
    assert 'datetime="2026-03-01T11:00:00+00:00"' in last
    assert "reopened since" not in last


def test_the_incident_page_says_when_a_reopened_incident_is_open_again(signed_in, responder, clock):
    incident = resolved_twice(responder, clock)
    clock.advance(minutes=10)
    services.incident_reopen(incident=incident, actor=responder)

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert '<dd id="incident-reopens">2 times</dd>' in content
    last = re.search(r'<dd id="incident-last-resolved">(.*?)</dd>', content)[1]  # type: ignore[index]
    assert 'datetime="2026-03-01T11:00:00+00:00"' in last
    assert "reopened since" in last


def test_an_incident_never_reopened_shows_no_reopen_facts(signed_in, responder, clock):
    incident = declare(responder)
    clock.advance(minutes=30)
    services.incident_resolve(incident=incident, actor=responder, resolution="Rolled back")

    content = signed_in.get(incident.get_absolute_url()).content.decode()

    assert "incident-reopens" not in content
    assert "incident-last-resolved" not in content


def test_the_api_gives_the_last_resolution_and_the_reopen_count(responder, clock):
    incident = resolved_twice(responder, clock)

    body = api_client(responder).get(incident_url(incident)).json()

    assert body["resolved_at"] == "2026-03-01T09:30:00Z"
    assert body["last_resolved_at"] == "2026-03-01T11:00:00Z"
    assert body["reopen_count"] == 1


def test_the_reopen_count_cannot_be_written_through_the_api(responder, clock):
    incident = resolved_twice(responder, clock)

    response = api_client(responder).patch(
        incident_url(incident), {"reopen_count": 0, "last_resolved_at": T0.isoformat()}
    )

    problem = assert_problem(response, 400)
    assert problem["errors"] == {
        "reopen_count": ["Unknown field."],
        "last_resolved_at": ["Unknown field."],
    }
    incident.refresh_from_db()
    assert incident.reopen_count == 1
