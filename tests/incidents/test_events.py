"""Domain events reach subscribers once, and only after the change they describe is committed.

Under the `db` fixture every test runs inside a transaction that is never committed, so
on_commit callbacks only run when captured with `django_capture_on_commit_callbacks`; the
`transaction=True` tests commit for real.
"""

import logging

import pytest
from django.db import transaction

from accounts.actors import SYSTEM
from incidents import events, services
from incidents.models import RoleKind, Status
from incidents.transitions import IllegalTransition
from tests.factories import UserFactory, declare, severity

EVENT_TYPES = [
    events.IncidentDeclared,
    events.IncidentStatusChanged,
    events.IncidentAcknowledged,
    events.IncidentSeverityChanged,
    events.IncidentRoleAssigned,
    events.IncidentNoteAdded,
    events.IncidentUpdatePosted,
    events.IncidentResolved,
    events.IncidentReopened,
    events.IncidentMerged,
]


class Boom(Exception):
    pass


class Recorder:
    def __init__(self) -> None:
        self.received: list[events.IncidentEvent] = []

    def __call__(self, event: events.IncidentEvent) -> None:
        self.received.append(event)

    def of(self, event_type: type[events.IncidentEvent]) -> list[events.IncidentEvent]:
        return [event for event in self.received if type(event) is event_type]


@pytest.fixture
def received():
    recorder = Recorder()
    for event_type in EVENT_TYPES:
        events.subscribe(event_type, recorder)
    yield recorder
    for event_type in EVENT_TYPES:
        events.unsubscribe(event_type, recorder)


@pytest.fixture
def incident(responder):
    return declare(responder)


@pytest.mark.django_db
def test_an_event_waits_for_the_commit(received, responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        declare(responder)
        assert received.received == []

    assert len(received.of(events.IncidentDeclared)) == 1


@pytest.mark.django_db
def test_a_rolled_back_declaration_publishes_nothing(
    received, responder, commander, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        declare(responder, commander=commander)
        raise Boom

    assert callbacks == []
    assert received.received == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_declaration_rolled_back_for_real_publishes_nothing(received):
    actor = UserFactory.create(username="rolled", role="responder")

    with pytest.raises(Boom), transaction.atomic():
        services.incident_declare(actor=actor, title="Disk full", severity=severity("SEV3"))
        raise Boom

    assert received.received == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_declaration_publishes_declared_once_with_its_ids(received):
    actor = UserFactory.create(username="committed", role="responder")

    incident = services.incident_declare(actor=actor, title="Disk full", severity=severity("SEV3"))

    assert received.received == [
        events.IncidentDeclared(incident_id=incident.pk, actor_id=actor.pk)
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_published_inside_an_outer_transaction_waits_for_the_outer_commit(received):
    actor = UserFactory.create(username="outer", role="responder")

    with transaction.atomic():
        services.incident_declare(actor=actor, title="Disk full", severity=severity("SEV3"))
        assert received.received == []

    assert len(received.of(events.IncidentDeclared)) == 1


@pytest.mark.django_db
def test_a_system_declaration_publishes_no_actor(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = services.incident_declare(
            actor=SYSTEM, title="Disk full", severity=severity("SEV3")
        )

    assert received.received == [events.IncidentDeclared(incident_id=incident.pk, actor_id=None)]


@pytest.mark.django_db
def test_declaring_with_a_commander_publishes_declared_before_the_role(
    received, responder, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(responder, commander=commander)

    assert received.received == [
        events.IncidentDeclared(incident_id=incident.pk, actor_id=responder.pk),
        events.IncidentRoleAssigned(
            incident_id=incident.pk,
            actor_id=responder.pk,
            role=RoleKind.COMMANDER,
            user_id=commander.pk,
        ),
    ]


@pytest.mark.django_db
def test_acknowledge_publishes_a_status_change_and_acknowledged(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)

    assert received.received == [
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=responder.pk,
            old_status=Status.DETECTED,
            new_status=Status.ACKNOWLEDGED,
        ),
        events.IncidentAcknowledged(incident_id=incident.pk, actor_id=responder.pk),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING])
def test_a_person_moving_an_incident_out_of_detected_publishes_acknowledged(
    received, incident, responder, status, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_status(incident=incident, actor=responder, status=status)

    assert received.of(events.IncidentAcknowledged) == [
        events.IncidentAcknowledged(incident_id=incident.pk, actor_id=responder.pk)
    ]


@pytest.mark.django_db
def test_the_system_acknowledging_publishes_acknowledged_without_an_actor(
    received, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=SYSTEM)

    assert received.of(events.IncidentAcknowledged) == [
        events.IncidentAcknowledged(incident_id=incident.pk, actor_id=None)
    ]


@pytest.mark.django_db
def test_acknowledged_is_published_only_when_first_stamped(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
        services.incident_acknowledge(incident=incident, actor=responder)
        services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)
        services.incident_resolve(incident=incident, actor=responder)

    assert len(received.of(events.IncidentAcknowledged)) == 1


@pytest.mark.django_db
def test_the_system_moving_an_incident_on_publishes_no_acknowledged(
    received, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_status(incident=incident, actor=SYSTEM, status=Status.MONITORING)
        services.incident_resolve(incident=incident, actor=SYSTEM)

    assert received.of(events.IncidentAcknowledged) == []


@pytest.mark.django_db
def test_set_status_publishes_a_status_change(
    received, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_status(incident=incident, actor=SYSTEM, status=Status.MONITORING)

    assert received.received == [
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=None,
            old_status=Status.DETECTED,
            new_status=Status.MONITORING,
        )
    ]


@pytest.mark.django_db
def test_resolve_publishes_a_status_change_and_resolved(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=incident, actor=responder)

    assert received.received == [
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=responder.pk,
            old_status=Status.DETECTED,
            new_status=Status.RESOLVED,
        ),
        events.IncidentAcknowledged(incident_id=incident.pk, actor_id=responder.pk),
        events.IncidentResolved(incident_id=incident.pk, actor_id=responder.pk),
    ]


@pytest.mark.django_db
def test_reopen_publishes_a_status_change_and_reopened(
    received, incident, responder, django_capture_on_commit_callbacks
):
    services.incident_resolve(incident=incident, actor=responder)

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=incident, actor=responder)

    assert received.received == [
        events.IncidentStatusChanged(
            incident_id=incident.pk,
            actor_id=responder.pk,
            old_status=Status.RESOLVED,
            new_status=Status.INVESTIGATING,
        ),
        events.IncidentReopened(incident_id=incident.pk, actor_id=responder.pk),
    ]


@pytest.mark.django_db
def test_set_severity_publishes_a_severity_change(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV1")
        )

    assert received.received == [
        events.IncidentSeverityChanged(
            incident_id=incident.pk, actor_id=responder.pk, old_severity="SEV2", new_severity="SEV1"
        )
    ]


@pytest.mark.django_db
def test_assign_role_publishes_the_role_and_its_holder(
    received, incident, responder, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SCRIBE, user=commander
        )

    assert received.received == [
        events.IncidentRoleAssigned(
            incident_id=incident.pk,
            actor_id=responder.pk,
            role=RoleKind.SCRIBE,
            user_id=commander.pk,
        )
    ]


@pytest.mark.django_db
def test_add_note_publishes_the_note(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = services.incident_add_note(incident=incident, actor=responder, text="Rolling back")

    assert received.received == [
        events.IncidentNoteAdded(
            incident_id=incident.pk, actor_id=responder.pk, timeline_event_id=note.pk
        )
    ]


@pytest.mark.django_db
def test_post_update_publishes_the_update(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        update = services.incident_post_update(
            incident=incident, actor=responder, message="Fix deployed", public=True
        )

    assert received.received == [
        events.IncidentUpdatePosted(
            incident_id=incident.pk,
            actor_id=responder.pk,
            status_update_id=update.pk,
            public=True,
        )
    ]


@pytest.mark.django_db
def test_merge_publishes_the_source_status_change_resolved_and_merged(
    received, incident, responder, django_capture_on_commit_callbacks
):
    source = declare(responder, title="Payments time out")

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_merge(incident=source, into=incident, actor=responder)

    assert received.received == [
        events.IncidentStatusChanged(
            incident_id=source.pk,
            actor_id=responder.pk,
            old_status=Status.DETECTED,
            new_status=Status.RESOLVED,
        ),
        events.IncidentAcknowledged(incident_id=source.pk, actor_id=responder.pk),
        events.IncidentResolved(incident_id=source.pk, actor_id=responder.pk),
        events.IncidentMerged(
            incident_id=source.pk, actor_id=responder.pk, survivor_id=incident.pk
        ),
    ]


@pytest.mark.django_db
def test_a_refused_change_publishes_nothing(
    received, incident, responder, django_capture_on_commit_callbacks
):
    services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(IllegalTransition),
    ):
        services.incident_set_status(incident=incident, actor=responder, status=Status.ACKNOWLEDGED)

    assert callbacks == []


@pytest.mark.django_db
def test_acknowledging_an_acknowledged_incident_publishes_nothing(
    received, incident, responder, django_capture_on_commit_callbacks
):
    services.incident_acknowledge(incident=incident, actor=responder)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.incident_acknowledge(incident=incident, actor=responder)

    assert callbacks == []


@pytest.mark.django_db
def test_setting_the_same_severity_publishes_nothing(
    received, incident, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV2")
        )

    assert callbacks == []


@pytest.mark.django_db
def test_a_failing_subscriber_does_not_stop_the_others(
    received, responder, django_capture_on_commit_callbacks, caplog
):
    def failing(event: events.IncidentEvent) -> None:
        raise Boom

    later = Recorder()
    events.subscribe(events.IncidentDeclared, failing)
    events.subscribe(events.IncidentDeclared, later)
    try:
        with (
            caplog.at_level(logging.ERROR, logger="incidents.events"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            declare(responder)
    finally:
        events.unsubscribe(events.IncidentDeclared, failing)
        events.unsubscribe(events.IncidentDeclared, later)

    assert len(received.of(events.IncidentDeclared)) == 1
    assert len(later.of(events.IncidentDeclared)) == 1
    assert "failed" in caplog.text
    assert caplog.records[-1].exc_info[0] is Boom


@pytest.mark.django_db
def test_subscribing_twice_delivers_once(received, responder, django_capture_on_commit_callbacks):
    events.subscribe(events.IncidentDeclared, received)

    with django_capture_on_commit_callbacks(execute=True):
        declare(responder)

    assert len(received.of(events.IncidentDeclared)) == 1


@pytest.mark.django_db
def test_an_unsubscribed_handler_hears_nothing(
    received, responder, django_capture_on_commit_callbacks
):
    events.unsubscribe(events.IncidentDeclared, received)

    with django_capture_on_commit_callbacks(execute=True):
        declare(responder)

    assert received.of(events.IncidentDeclared) == []


@pytest.mark.django_db
def test_a_subscriber_hears_only_the_events_it_subscribed_to(
    responder, django_capture_on_commit_callbacks
):
    resolved_only = Recorder()
    events.subscribe(events.IncidentResolved, resolved_only)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            incident = declare(responder)
            services.incident_resolve(incident=incident, actor=responder)
    finally:
        events.unsubscribe(events.IncidentResolved, resolved_only)

    assert resolved_only.received == [
        events.IncidentResolved(incident_id=incident.pk, actor_id=responder.pk)
    ]


def test_unsubscribing_an_unknown_handler_is_harmless():
    events.unsubscribe(events.IncidentDeclared, Recorder())


@pytest.mark.django_db
def test_each_change_names_the_timeline_entry_it_recorded(
    received, incident, responder, commander, django_capture_on_commit_callbacks
):
    from incidents.models import TimelineEvent

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV1")
        )
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SCRIBE, user=commander
        )
        services.incident_post_update(incident=incident, actor=responder, message="Rolling back")
        services.incident_resolve(incident=incident, actor=responder, resolution="done")
        services.incident_reopen(incident=incident, actor=responder)

    named = {
        (type(event).__name__, TimelineEvent.objects.get(pk=event.timeline_event_id).kind)
        for event in received.received
    }
    assert named == {
        ("IncidentStatusChanged", "acknowledged"),
        ("IncidentAcknowledged", "acknowledged"),
        ("IncidentSeverityChanged", "severity_changed"),
        ("IncidentRoleAssigned", "role_assigned"),
        ("IncidentUpdatePosted", "status_update"),
        ("IncidentStatusChanged", "resolved"),
        ("IncidentResolved", "resolved"),
        ("IncidentStatusChanged", "reopened"),
        ("IncidentReopened", "reopened"),
    }


@pytest.mark.django_db
def test_editing_details_publishes_what_changed(incident, django_capture_on_commit_callbacks):
    heard: list[events.IncidentEvent] = []
    events.subscribe(events.IncidentDetailsChanged, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.incident_update_details(
                incident=incident, actor=SYSTEM, title="Checkout fails", private=True
            )
            # Nothing changed: nothing to say.
            services.incident_update_details(incident=incident, actor=SYSTEM, private=True)
    finally:
        events.unsubscribe(events.IncidentDetailsChanged, heard.append)

    assert heard == [
        events.IncidentDetailsChanged(
            incident_id=incident.pk, actor_id=None, fields=("title", "private")
        )
    ]
    assert heard[0].timeline_event_id is not None


@pytest.mark.django_db
def test_adding_responders_publishes_the_new_ones(
    incident, responder, commander, django_capture_on_commit_callbacks
):
    heard: list[events.IncidentEvent] = []
    events.subscribe(events.IncidentRespondersAdded, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            # The declarer (responder) already takes part.
            services.incident_add_responders(incident=incident, users=[responder, commander])
            services.incident_add_responders(incident=incident, users=[commander])
    finally:
        events.unsubscribe(events.IncidentRespondersAdded, heard.append)

    assert heard == [
        events.IncidentRespondersAdded(
            incident_id=incident.pk, actor_id=None, user_ids=(commander.pk,)
        )
    ]
    assert incident.participants.filter(pk=commander.pk).exists()
