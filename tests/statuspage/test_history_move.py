"""History entered after the fact (the demo): what publishing an incident stamped moves with the
incident to when it happened, and what was stamped before it stays."""

from datetime import timedelta

import pytest
from django.db.models import Case, F, Value, When

from incidents import services
from incidents.models import Status
from statuspage.models import ComponentStateChange, PublicIncident
from statuspage.services.history import components_history_move, public_history_move
from tests.clock import T0
from tests.factories import declare
from tests.statuspage.factories import component, post_public, set_status

pytestmark = pytest.mark.django_db

WEEK = timedelta(days=7)


def back_a_week_from(mark):
    """Stamps from `mark` on, a week earlier (the demo's Clock.planned, with one step)."""

    def moved_to(field: str) -> Case:
        return Case(When(**{f"{field}__gte": mark}, then=F(field) - Value(WEEK)), default=F(field))

    return moved_to


def test_an_incidents_public_history_moves_with_it(clock, api, commander, events_run):
    clock.now = T0 + timedelta(days=30)
    mark = clock.now
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
    clock.advance(minutes=5)
    with events_run():
        post_public(incident, commander, "Checkout is down.")
    clock.advance(minutes=30)
    with events_run():
        set_status(incident, commander, Status.MONITORING)
    clock.advance(minutes=30)
    with events_run():
        services.incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")

    public_history_move(incident=incident, moved_to=back_a_week_from(mark))

    pi = PublicIncident.objects.get()
    published = mark + timedelta(minutes=5) - WEEK
    resolved = mark + timedelta(minutes=65) - WEEK
    assert pi.created_at == published
    assert pi.monitoring_at == mark + timedelta(minutes=35) - WEEK
    assert pi.resolved_at == resolved
    assert [u.created_at for u in pi.updates.order_by("id")] == [published, resolved]
    spans = ComponentStateChange.objects.filter(component=component(api)).order_by("started_at")
    # The component was made at T0, before the incident: its first span starts there still.
    assert [(s.state, s.started_at, s.ended_at) for s in spans] == [
        ("operational", T0, published),
        ("major_outage", published, resolved),
        ("operational", resolved, None),
    ]
    assert component(api).state_since == resolved


def test_an_incident_never_published_moves_nothing(clock, api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
    before = list(ComponentStateChange.objects.values_list("started_at", "ended_at"))

    public_history_move(incident=incident, moved_to=back_a_week_from(T0))

    assert list(ComponentStateChange.objects.values_list("started_at", "ended_at")) == before


def test_a_catalog_made_today_can_begin_its_history_earlier(clock, api, web):
    components_history_move(moved_to=back_a_week_from(T0))

    for service in (api, web):
        made = component(service)
        assert made.created_at == made.state_since == T0 - WEEK
        (span,) = made.spans.all()
        assert (span.started_at, span.ended_at) == (T0 - WEEK, None)
