"""A component's state: derived from the open public incidents affecting it (worst wins, the
severity's impact or the lead's override) and from maintenance in progress; every change a
span."""

import pytest
from django.utils import timezone

from incidents.models import Service, Status
from statuspage.models import ComponentState, ComponentStateChange
from statuspage.services import components_sync, states_recompute
from tests.factories import ServiceFactory, declare
from tests.statuspage.factories import (
    component,
    post_public,
    set_severity,
    set_status,
    spans,
    state,
)

OPERATIONAL = ComponentState.OPERATIONAL
DEGRADED = ComponentState.DEGRADED_PERFORMANCE
PARTIAL = ComponentState.PARTIAL_OUTAGE
MAJOR = ComponentState.MAJOR_OUTAGE

SEVERITY_STATE = {"SEV1": MAJOR, "SEV2": PARTIAL, "SEV3": DEGRADED, "SEV4": OPERATIONAL}


def test_a_public_service_gets_a_component_with_an_open_operational_span(api, internal):
    assert state(api) == OPERATIONAL
    assert spans(api) == [(OPERATIONAL, True)]
    assert not ComponentStateChange.objects.filter(component__service=internal).exists()


def test_a_service_made_public_later_gets_its_component(internal):
    internal.public = True
    internal.save()
    assert state(internal) == OPERATIONAL


def test_components_sync_catches_services_saved_without_signals(db):
    Service.objects.bulk_create([Service(name="Search", slug="search", public=True)])
    made = components_sync()
    assert [c.service.name for c in made] == ["Search"]
    assert components_sync() == []
    assert spans(Service.objects.get(slug="search")) == [(OPERATIONAL, True)]


@pytest.mark.parametrize("severity_name", ["SEV1", "SEV2", "SEV3", "SEV4"])
@pytest.mark.parametrize("status", list(Status))
def test_state_follows_the_severity_until_resolved(
    api, commander, events_run, severity_name, status
):
    with events_run():
        incident = declare(commander, services=[api], severity_name=severity_name)
        post_public(incident, commander)
    with events_run():
        if status != Status.DETECTED:
            set_status(incident, commander, status)
    expected = OPERATIONAL if status == Status.RESOLVED else SEVERITY_STATE[severity_name]
    assert state(api) == expected


def test_an_unpublished_incident_changes_no_state(api, commander, events_run):
    with events_run():
        declare(commander, services=[api], severity_name="SEV1")
    assert state(api) == OPERATIONAL


def test_overlapping_incidents_the_worst_wins(api, web, commander, events_run):
    with events_run():
        minor = declare(commander, title="Slow pages", services=[api, web], severity_name="SEV3")
        post_public(minor, commander)
        major = declare(commander, title="API down", services=[api], severity_name="SEV1")
        post_public(major, commander)
    assert (state(api), state(web)) == (MAJOR, DEGRADED)
    with events_run():
        set_status(major, commander, Status.RESOLVED)
    assert (state(api), state(web)) == (DEGRADED, DEGRADED)
    with events_run():
        set_status(minor, commander, Status.RESOLVED)
    assert (state(api), state(web)) == (OPERATIONAL, OPERATIONAL)


def test_a_severity_change_moves_the_state(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV3")
        post_public(incident, commander)
    with events_run():
        set_severity(incident, commander, "SEV1")
    assert state(api) == MAJOR


def test_spans_are_written_exactly_on_change(clock, api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV2")
        post_public(incident, commander)
    assert spans(api) == [(OPERATIONAL, False), (PARTIAL, True)]
    # Same state: a status change within the open incident, a recompute with nothing new.
    clock.advance(minutes=5)
    with events_run():
        set_status(incident, commander, Status.IDENTIFIED)
    assert states_recompute(now=timezone.now()) == []
    assert spans(api) == [(OPERATIONAL, False), (PARTIAL, True)]
    raised = clock.advance(minutes=5)
    with events_run():
        set_severity(incident, commander, "SEV1")
    assert spans(api) == [(OPERATIONAL, False), (PARTIAL, False), (MAJOR, True)]
    partial, major = ComponentStateChange.objects.filter(component__service=api).order_by(
        "started_at"
    )[1:]
    assert partial.ended_at == major.started_at == raised
    assert component(api).state_since == raised


def test_recompute_is_idempotent_and_needs_no_event(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    # Knocked out of line by a write that went around the services: the next recompute
    # (the tick's) puts it back, once.
    type(component(api)).objects.filter(service=api).update(state=OPERATIONAL)
    moves = states_recompute(now=timezone.now())
    assert [(m.old, m.new) for m in moves] == [(OPERATIONAL, MAJOR)]
    assert states_recompute(now=timezone.now()) == []
    assert state(api) == MAJOR


def test_a_private_service_of_the_incident_is_not_a_component(api, internal, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api, internal], severity_name="SEV1")
        post_public(incident, commander)
    assert state(api) == MAJOR
    assert not ComponentStateChange.objects.filter(component__service=internal).exists()


def test_another_public_service_is_untouched(api, web, commander, events_run):
    ServiceFactory(name="Docs", public=True)
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    assert state(web) == OPERATIONAL
