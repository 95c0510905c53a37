"""The incident lifecycle: detected → acknowledged → investigating → identified → monitoring →
resolved. Forward moves may skip steps; among investigating, identified and monitoring an
incident also moves back (it relapsed); nothing goes back to detected or acknowledged, and only
a reopen takes a resolved incident back (to investigating)."""

from datetime import datetime, timedelta
from itertools import product

import pytest
from django.utils import timezone

from accounts.actors import SYSTEM
from incidents import events, services
from incidents.models import EventKind, Incident, Status
from incidents.transitions import IllegalTransition, transition_allowed, transition_is_backward
from tests.clock import Clock
from tests.factories import declare

pytestmark = pytest.mark.django_db

D, A, V, I, M, R = (  # noqa: E741
    Status.DETECTED,
    Status.ACKNOWLEDGED,
    Status.INVESTIGATING,
    Status.IDENTIFIED,
    Status.MONITORING,
    Status.RESOLVED,
)
ALL_STATUSES = (D, A, V, I, M, R)

# Written out rather than derived, so the table itself is what the tests pin down.
LEGAL = {
    (D, A), (D, V), (D, I), (D, M), (D, R),
    (A, V), (A, I), (A, M), (A, R),
    (V, I), (V, M), (V, R),
    (I, V), (I, M), (I, R),
    (M, V), (M, I), (M, R),
}  # fmt: skip
BACKWARD = {(I, V), (M, V), (M, I)}
ALL_PAIRS = list(product(ALL_STATUSES, ALL_STATUSES))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


def at_status(status: str, actor) -> Incident:
    """A fresh incident brought straight to `status` by `actor`."""
    incident = declare(actor)
    if status != Status.DETECTED:
        services.incident_set_status(incident=incident, actor=actor, status=status)
    incident.refresh_from_db()
    assert incident.status == status
    return incident


def snapshot(incident: Incident) -> tuple[object, int]:
    row = Incident.objects.values().get(pk=incident.pk)
    return row, incident.timeline.count()


def test_the_table_has_eighteen_legal_moves_out_of_thirty_six():
    assert len(ALL_PAIRS) == 36
    assert len(LEGAL) == 18


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_transition_is_backward_only_for_a_relapse(current, target):
    assert transition_is_backward(current, target) == ((current, target) in BACKWARD)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_transition_allowed_follows_the_table(current, target):
    assert transition_allowed(current, target) == ((current, target) in LEGAL)


def test_transition_allowed_refuses_an_unknown_status():
    assert not transition_allowed(Status.DETECTED, "exploded")


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_set_status_performs_a_legal_move(responder, current, target):
    incident = at_status(current, responder)
    before = incident.timeline.count()

    services.incident_set_status(incident=incident, actor=responder, status=target)

    incident.refresh_from_db()
    assert incident.status == target
    assert incident.timeline.count() == before + 1


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_set_status_refuses_an_illegal_move_and_writes_nothing(responder, current, target):
    incident = at_status(current, responder)
    before = snapshot(incident)

    with pytest.raises(IllegalTransition):
        services.incident_set_status(incident=incident, actor=responder, status=target)

    assert snapshot(incident) == before


def test_set_status_refuses_an_unknown_status(responder):
    incident = declare(responder)

    with pytest.raises(IllegalTransition):
        services.incident_set_status(incident=incident, actor=responder, status="exploded")

    incident.refresh_from_db()
    assert incident.status == Status.DETECTED


def test_illegal_transition_names_both_statuses(responder):
    incident = at_status(Status.MONITORING, responder)

    with pytest.raises(IllegalTransition) as raised:
        services.incident_set_status(incident=incident, actor=responder, status=Status.ACKNOWLEDGED)

    assert raised.value.current == Status.MONITORING
    assert raised.value.target == Status.ACKNOWLEDGED
    assert f"INC-{incident.number}" in str(raised.value)


def test_a_stale_instance_is_checked_against_the_stored_status(responder):
    incident = declare(responder)
    stale = Incident.objects.get(pk=incident.pk)
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    # `stale` still says detected; the service must judge the move by the locked row.
    with pytest.raises(IllegalTransition):
        services.incident_set_status(incident=stale, actor=responder, status=Status.ACKNOWLEDGED)


def test_acknowledge_moves_a_detected_incident_to_acknowledged(responder):
    incident = declare(responder)

    services.incident_acknowledge(incident=incident, actor=responder)

    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED


@pytest.mark.parametrize("current", [A, V, I, M])
def test_acknowledging_an_acknowledged_or_later_incident_changes_nothing(
    responder, current, django_capture_on_commit_callbacks
):
    incident = at_status(current, responder)
    before = snapshot(incident)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        returned = services.incident_acknowledge(incident=incident, actor=responder)

    assert returned.status == current
    assert snapshot(incident) == before
    assert callbacks == []


def test_acknowledging_a_resolved_incident_is_refused(responder):
    incident = at_status(Status.RESOLVED, responder)
    before = snapshot(incident)

    with pytest.raises(IllegalTransition):
        services.incident_acknowledge(incident=incident, actor=responder)

    assert snapshot(incident) == before


@pytest.mark.parametrize("current", ALL_STATUSES)
def test_resolve_is_legal_from_every_open_status(responder, current):
    incident = at_status(current, responder)
    before = snapshot(incident)

    if current != Status.RESOLVED:
        services.incident_resolve(incident=incident, actor=responder, resolution="rolled back")
        incident.refresh_from_db()
        assert incident.status == Status.RESOLVED
        assert incident.resolution == "rolled back"
    else:
        with pytest.raises(IllegalTransition):
            services.incident_resolve(incident=incident, actor=responder)
        assert snapshot(incident) == before


@pytest.mark.parametrize("current", ALL_STATUSES)
def test_reopen_is_legal_only_from_resolved_and_goes_to_investigating(responder, current):
    incident = at_status(current, responder)
    before = snapshot(incident)

    if current == Status.RESOLVED:
        services.incident_reopen(incident=incident, actor=responder, reason="errors are back")
        incident.refresh_from_db()
        assert incident.status == Status.INVESTIGATING
    else:
        with pytest.raises(IllegalTransition):
            services.incident_reopen(incident=incident, actor=responder)
        assert snapshot(incident) == before


def test_set_status_to_resolved_resolves_with_the_message_as_resolution(responder):
    incident = declare(responder)

    services.incident_set_status(
        incident=incident, actor=responder, status=Status.RESOLVED, message="fixed"
    )

    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolution == "fixed"
    assert incident.timeline.latest("occurred_at", "id").kind == EventKind.RESOLVED


def test_reopen_is_recorded_in_the_timeline(responder):
    incident = at_status(Status.RESOLVED, responder)

    services.incident_reopen(incident=incident, actor=responder, reason="errors are back")

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.REOPENED
    assert entry.actor == responder
    assert entry.data == {"from": Status.RESOLVED, "to": Status.INVESTIGATING}
    assert "errors are back" in entry.message


def test_acknowledging_is_recorded_as_an_acknowledgement(responder):
    incident = declare(responder)

    services.incident_acknowledge(incident=incident, actor=responder)

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.ACKNOWLEDGED
    assert entry.data == {"from": Status.DETECTED, "to": Status.ACKNOWLEDGED}


def test_a_status_change_is_recorded_with_both_statuses(responder):
    incident = declare(responder)

    services.incident_set_status(
        incident=incident, actor=responder, status=Status.IDENTIFIED, message="bad deploy"
    )

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.STATUS_CHANGED
    assert entry.data == {"from": Status.DETECTED, "to": Status.IDENTIFIED}
    assert "bad deploy" in entry.message


@pytest.mark.parametrize(("current", "target"), sorted(BACKWARD))
def test_a_move_back_is_recorded_as_a_relapse_with_its_actor(responder, current, target):
    incident = at_status(current, responder)

    services.incident_set_status(
        incident=incident, actor=responder, status=target, message="errors are back"
    )

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.STATUS_CHANGED
    assert entry.actor == responder
    assert entry.data == {"from": current, "to": target}
    assert entry.message == (
        f"{responder.display_name} moved INC-{incident.number} back from {current} to {target}"
        ": errors are back"
    )


def test_a_move_back_publishes_a_status_change_and_no_acknowledgement(
    responder, django_capture_on_commit_callbacks
):
    incident = at_status(Status.MONITORING, responder)
    received: list[events.IncidentEvent] = []
    for event_type in (events.IncidentStatusChanged, events.IncidentAcknowledged):
        events.subscribe(event_type, received.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.incident_set_status(
                incident=incident, actor=responder, status=Status.INVESTIGATING
            )
    finally:
        for event_type in (events.IncidentStatusChanged, events.IncidentAcknowledged):
            events.unsubscribe(event_type, received.append)

    assert received == [
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=responder.pk,
            old_status=Status.MONITORING,
            new_status=Status.INVESTIGATING,
        )
    ]


def test_a_move_back_keeps_the_first_identified_and_mitigated_times(responder, clock):
    incident = declare(responder)
    identified = clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
    mitigated = clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)
    clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.INVESTIGATING)
    incident.refresh_from_db()
    assert (incident.identified_at, incident.mitigated_at) == (identified, mitigated)

    clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)
    incident.refresh_from_db()
    assert (incident.identified_at, incident.mitigated_at) == (identified, mitigated)


def test_a_move_back_to_a_skipped_status_stamps_its_first_arrival(responder, clock):
    incident = declare(responder)
    clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)
    arrived = clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)

    incident.refresh_from_db()
    assert incident.identified_at == arrived


def test_a_person_moving_back_an_incident_nobody_acknowledged_acknowledges_it(responder, clock):
    incident = declare(responder)
    services.incident_set_status(incident=incident, actor=SYSTEM, status=Status.MONITORING)
    moved = clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.INVESTIGATING)

    incident.refresh_from_db()
    assert incident.acknowledged_at == moved


@pytest.mark.parametrize(
    ("status", "field"),
    [
        (Status.ACKNOWLEDGED, "acknowledged_at"),
        (Status.IDENTIFIED, "identified_at"),
        (Status.MONITORING, "mitigated_at"),
        (Status.RESOLVED, "resolved_at"),
    ],
)
def test_first_arrival_at_a_status_stamps_its_time(responder, clock, status, field):
    incident = declare(responder)
    arrived = clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=status)

    incident.refresh_from_db()
    assert getattr(incident, field) == arrived


def test_investigating_has_no_timestamp_of_its_own(responder, clock):
    incident = declare(responder)
    services.incident_acknowledge(incident=incident, actor=responder)
    clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.INVESTIGATING)

    incident.refresh_from_db()
    assert incident.identified_at is None
    assert incident.mitigated_at is None
    assert incident.resolved_at is None


def test_skipped_statuses_are_not_stamped(responder, clock):
    incident = declare(responder)
    clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    incident.refresh_from_db()
    assert incident.identified_at is None
    assert incident.mitigated_at == clock.now


def test_a_person_moving_an_incident_out_of_detected_acknowledges_it(responder, clock):
    incident = declare(responder)
    moved = clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.INVESTIGATING)

    incident.refresh_from_db()
    assert incident.acknowledged_at == moved


def test_a_person_resolving_a_detected_incident_also_acknowledges_it(responder, clock):
    incident = declare(responder)
    resolved = clock.advance()

    services.incident_resolve(incident=incident, actor=responder)

    incident.refresh_from_db()
    assert incident.acknowledged_at == resolved
    assert incident.resolved_at == resolved


def test_the_system_moving_an_incident_out_of_detected_does_not_acknowledge_it(responder, clock):
    incident = declare(responder)
    clock.advance()

    services.incident_set_status(incident=incident, actor=SYSTEM, status=Status.MONITORING)

    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert incident.mitigated_at == clock.now


def test_the_system_resolving_an_incident_does_not_acknowledge_it(responder, clock):
    incident = declare(responder)
    clock.advance()

    services.incident_resolve(incident=incident, actor=SYSTEM)

    incident.refresh_from_db()
    assert incident.acknowledged_at is None
    assert incident.resolved_at == clock.now


def test_a_later_move_by_a_person_does_not_restamp_acknowledged_at(responder, clock):
    incident = declare(responder)
    acknowledged = clock.advance()
    services.incident_acknowledge(incident=incident, actor=responder)
    clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)

    incident.refresh_from_db()
    assert incident.acknowledged_at == acknowledged


def test_resolve_reopen_resolve_keeps_the_first_resolved_at(responder, clock):
    incident = declare(responder)
    first = clock.advance()
    services.incident_resolve(incident=incident, actor=responder)
    clock.advance()
    services.incident_reopen(incident=incident, actor=responder)
    clock.advance()

    services.incident_resolve(incident=incident, actor=responder)

    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert incident.resolved_at == first


def test_arriving_again_after_a_reopen_keeps_the_first_identified_and_mitigated_times(
    responder, clock
):
    incident = declare(responder)
    identified = clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
    mitigated = clock.advance()
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)
    clock.advance()
    services.incident_resolve(incident=incident, actor=responder)
    services.incident_reopen(incident=incident, actor=responder)
    clock.advance()

    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    incident.refresh_from_db()
    assert incident.identified_at == identified
    assert incident.mitigated_at == mitigated


class TickingClock(Clock):
    """Moves on a second every time it is read, so two reads never agree by accident."""

    def __call__(self) -> datetime:
        return self.advance_seconds()

    def advance_seconds(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def ticking(monkeypatch):
    clock = TickingClock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.mark.parametrize(
    ("status", "field"),
    [
        (Status.ACKNOWLEDGED, "acknowledged_at"),
        (Status.IDENTIFIED, "identified_at"),
        (Status.MONITORING, "mitigated_at"),
        (Status.RESOLVED, "resolved_at"),
    ],
)
def test_a_status_stamp_and_its_timeline_entry_carry_the_same_time(
    responder, ticking, status, field
):
    incident = declare(responder)

    services.incident_set_status(incident=incident, actor=responder, status=status)

    incident.refresh_from_db()
    entry = incident.timeline.latest("occurred_at", "id")
    assert getattr(incident, field) == entry.occurred_at
    assert incident.acknowledged_at == entry.occurred_at


def test_a_merge_stamps_the_resolution_at_the_time_it_records(responder, ticking):
    survivor = declare(responder)
    source = declare(responder, title="Payments time out")

    services.incident_merge(incident=source, into=survivor, actor=responder)

    source.refresh_from_db()
    assert source.resolved_at == source.timeline.get(kind=EventKind.MERGED).occurred_at
    assert source.resolved_at == survivor.timeline.get(kind=EventKind.MERGED).occurred_at


def test_a_merged_incident_cannot_be_reopened(responder):
    survivor = declare(responder)
    source = declare(responder, title="Payments time out")
    services.incident_merge(incident=source, into=survivor, actor=responder)
    source.refresh_from_db()
    before = snapshot(source)

    with pytest.raises(IllegalTransition) as raised:
        services.incident_reopen(incident=source, actor=responder)

    assert "merged" in str(raised.value)
    assert snapshot(source) == before


def test_reopen_then_every_forward_move_is_legal_again(responder):
    incident = at_status(Status.RESOLVED, responder)
    services.incident_reopen(incident=incident, actor=responder)

    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)

    incident.refresh_from_db()
    assert incident.status == Status.IDENTIFIED
