"""Incident services: one transaction each, one timeline entry each, numbers, roles, merges."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import Role
from incidents import events, services
from incidents.models import (
    ChecklistItem,
    EventKind,
    Incident,
    IncidentCounter,
    RoleAssignment,
    RoleKind,
    Source,
    Status,
    StatusUpdate,
    TimelineEvent,
)
from incidents.timeline import timeline_event_set_highlight
from incidents.transitions import IllegalTransition, IncidentConflict
from tests.factories import ServiceFactory, TeamFactory, UserFactory, declare, severity

PLAYBOOK_CHECKLIST = [
    "Assess severity and impact",
    "Assemble response team",
    "Establish communication cadence",
    "Coordinate investigation",
    "Manage stakeholder updates",
    "Document timeline and decisions",
    "Coordinate resolution efforts",
    "Verify resolution",
    "Schedule postmortem",
]


class Boom(Exception):
    pass


@pytest.fixture
def incident(responder, commander):
    return declare(responder, commander=commander)


@pytest.fixture
def expert(db):
    return UserFactory.create(username="esme", role=Role.RESPONDER)


# Service name → (call, timeline entries it writes). `ctx` holds the incident (with a
# commander, so it has a checklist), a second open incident and the acting responder.
SERVICE_CALLS: dict[str, tuple[Callable[[dict[str, Any]], object], int]] = {
    "acknowledge": (
        lambda c: services.incident_acknowledge(incident=c["incident"], actor=c["actor"]),
        1,
    ),
    "set_status": (
        lambda c: services.incident_set_status(
            incident=c["incident"], actor=c["actor"], status=Status.IDENTIFIED
        ),
        1,
    ),
    "set_severity": (
        lambda c: services.incident_set_severity(
            incident=c["incident"], actor=c["actor"], severity=severity("SEV1")
        ),
        1,
    ),
    "assign_role": (
        lambda c: services.incident_assign_role(
            incident=c["incident"], actor=c["actor"], role=RoleKind.SCRIBE, user=c["other"]
        ),
        1,
    ),
    "add_note": (
        lambda c: services.incident_add_note(
            incident=c["incident"], actor=c["actor"], text="Error rate is falling"
        ),
        1,
    ),
    "post_update": (
        lambda c: services.incident_post_update(
            incident=c["incident"], actor=c["actor"], message="We are rolling back"
        ),
        1,
    ),
    "resolve": (
        lambda c: services.incident_resolve(incident=c["incident"], actor=c["actor"]),
        1,
    ),
    "update_details": (
        lambda c: services.incident_update_details(
            incident=c["incident"], actor=c["actor"], title="Checkout is down"
        ),
        1,
    ),
    "checklist_item_set_done": (
        lambda c: services.checklist_item_set_done(
            item=c["incident"].checklist.first(), actor=c["actor"], done=True
        ),
        1,
    ),
    # Highlighting curates the timeline; an entry saying so would only clutter it.
    "timeline_event_set_highlight": (
        lambda c: timeline_event_set_highlight(
            event=c["incident"].timeline.first(), actor=c["actor"], highlighted=True
        ),
        0,
    ),
    # One entry on each incident: both record the merge.
    "merge": (
        lambda c: services.incident_merge(
            incident=c["second"], into=c["incident"], actor=c["actor"]
        ),
        2,
    ),
}


@pytest.mark.parametrize("name", SERVICE_CALLS)
def test_each_service_call_writes_its_timeline_entries(name, incident, responder, expert):
    call, entries = SERVICE_CALLS[name]
    ctx = {
        "incident": incident,
        "second": declare(responder, title="Payments are slow"),
        "actor": responder,
        "other": expert,
    }
    before = TimelineEvent.objects.count()

    call(ctx)

    assert TimelineEvent.objects.count() == before + entries


def test_reopen_writes_one_timeline_entry(incident, responder):
    services.incident_resolve(incident=incident, actor=responder)
    before = TimelineEvent.objects.count()

    services.incident_reopen(incident=incident, actor=responder)

    assert TimelineEvent.objects.count() == before + 1


def test_declare_writes_one_timeline_entry(responder):
    incident = declare(responder)

    assert list(incident.timeline.values_list("kind", flat=True)) == [EventKind.DECLARED]


def test_declare_with_a_commander_writes_declared_then_role_assigned(responder, commander):
    incident = declare(responder, commander=commander)

    assert list(incident.timeline.values_list("kind", flat=True)) == [
        EventKind.DECLARED,
        EventKind.ROLE_ASSIGNED,
    ]


def test_timeline_entry_records_actor_and_source(incident, responder):
    services.incident_add_note(
        incident=incident, actor=responder, text="Paging the DBA", source=Source.SLACK
    )

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.actor == responder
    assert entry.source == Source.SLACK
    assert entry.message == "Paging the DBA"


def test_a_system_change_is_recorded_without_an_actor(incident):
    services.incident_set_status(incident=incident, actor=SYSTEM, status=Status.MONITORING)

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.actor is None
    assert entry.message.startswith("Tocsin ")


def test_a_failure_after_the_service_rolls_back_the_change_and_its_entry(incident, responder):
    entries = incident.timeline.count()

    with pytest.raises(Boom), transaction.atomic():
        services.incident_acknowledge(incident=incident, actor=responder)
        raise Boom

    incident.refresh_from_db()
    assert incident.status == Status.DETECTED
    assert incident.acknowledged_at is None
    assert incident.timeline.count() == entries


def test_a_failure_after_declaring_rolls_back_the_incident_and_its_entries(responder, commander):
    with pytest.raises(Boom), transaction.atomic():
        declare(responder, commander=commander)
        raise Boom

    assert not Incident.objects.exists()
    assert not TimelineEvent.objects.exists()
    assert not RoleAssignment.objects.exists()
    assert not ChecklistItem.objects.exists()


def test_a_failure_writing_the_timeline_rolls_back_the_status_change(
    incident, responder, monkeypatch
):
    def fail(**kwargs):
        raise Boom

    monkeypatch.setattr(TimelineEvent.objects, "create", fail)

    with pytest.raises(Boom):
        services.incident_set_status(incident=incident, actor=responder, status=Status.MONITORING)

    incident.refresh_from_db()
    assert incident.status == Status.DETECTED
    assert incident.mitigated_at is None
    assert incident.acknowledged_at is None


def test_a_failure_writing_the_timeline_rolls_back_the_resolution(incident, responder, monkeypatch):
    def fail(**kwargs):
        raise Boom

    monkeypatch.setattr(TimelineEvent.objects, "create", fail)

    with pytest.raises(Boom):
        services.incident_resolve(incident=incident, actor=responder, resolution="restarted")

    incident.refresh_from_db()
    assert incident.status == Status.DETECTED
    assert incident.resolved_at is None
    assert incident.resolution == ""


def test_a_failing_commander_assignment_rolls_back_the_whole_declaration(responder, viewer):
    with pytest.raises(ValidationError):
        declare(responder, commander=viewer)

    assert not Incident.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_incidents_are_numbered_in_order(responder):
    refs = [declare(responder, title=f"Incident {n}").ref for n in range(3)]

    assert refs == ["INC-1", "INC-2", "INC-3"]


def test_a_rolled_back_declaration_does_not_use_up_a_number(responder):
    declare(responder)
    with pytest.raises(Boom), transaction.atomic():
        declare(responder)
        raise Boom

    assert declare(responder).number == 2


def test_numbering_continues_from_the_counter(responder):
    IncidentCounter.objects.filter(pk=1).update(last_number=41)

    assert declare(responder).ref == "INC-42"


def test_numbering_starts_afresh_when_the_counter_row_is_missing(responder):
    # `manage.py flush` empties the counter table and does not re-run the seeding migration.
    IncidentCounter.objects.all().delete()

    assert [declare(responder).number for _ in range(2)] == [1, 2]


# serialized_rollback restores the seeded severities and counter that the flush after a
# transactional test removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("counter", ["seeded", "missing"])
def test_concurrent_declarations_get_distinct_numbers_without_gaps(counter):
    if counter == "missing":
        IncidentCounter.objects.all().delete()
    actor = UserFactory.create(username="racer", role=Role.RESPONDER)
    sev = severity("SEV2")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def declare_one(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            incident = services.incident_declare(actor=actor, title=f"Outage {n}", severity=sev)
            numbers.append(incident.number)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=declare_one, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(numbers) == list(range(1, threads_count + 1))


def test_declare_stores_what_was_declared(responder):
    team = TeamFactory.create(name="Payments")
    service = ServiceFactory.create(name="checkout", team=team)
    started = timezone.now() - timedelta(minutes=20)

    incident = declare(
        responder,
        title="  Checkout is failing  ",
        summary="5xx on /pay",
        services=[service],
        team=team,
        private=True,
        source=Source.API,
        labels={"region": "eu-west-1"},
        started_at=started,
    )

    incident.refresh_from_db()
    assert incident.title == "Checkout is failing"
    assert incident.status == Status.DETECTED
    assert incident.severity.name == "SEV2"
    assert list(incident.services.all()) == [service]
    assert incident.team == team
    assert incident.private
    assert incident.source == Source.API
    assert incident.labels == {"region": "eu-west-1"}
    assert incident.started_at == started
    assert incident.declared_by == responder
    assert incident.timeline.get().source == Source.API


def test_impact_start_defaults_to_detection_and_detection_to_declaration(responder):
    incident = declare(responder)

    assert incident.detected_at == incident.declared_at
    assert incident.started_at == incident.detected_at


def test_impact_start_defaults_to_the_given_detection_time(responder):
    detected = timezone.now() - timedelta(minutes=5)

    incident = declare(responder, detected_at=detected)

    assert incident.started_at == detected


def test_the_declarer_becomes_a_participant(responder):
    incident = declare(responder)

    assert list(incident.participants.all()) == [responder]


def test_a_system_declaration_has_no_declarer_or_participant(db):
    incident = services.incident_declare(actor=SYSTEM, title="Disk full", severity=severity("SEV3"))

    assert incident.declared_by is None
    assert not incident.participants.exists()
    assert incident.timeline.get().message.startswith("Tocsin declared INC-1")


@pytest.mark.parametrize("title", ["", "   "])
def test_declare_requires_a_title(responder, title):
    with pytest.raises(ValidationError) as raised:
        declare(responder, title=title)

    assert "title" in raised.value.message_dict
    assert not Incident.objects.exists()


def test_declare_refuses_an_impact_start_in_the_future(responder):
    with pytest.raises(ValidationError) as raised:
        declare(responder, started_at=timezone.now() + timedelta(hours=1))

    assert "started_at" in raised.value.message_dict
    assert not Incident.objects.exists()


def test_raising_severity_is_recorded_as_raised(incident, responder):
    services.incident_set_severity(incident=incident, actor=responder, severity=severity("SEV1"))

    incident.refresh_from_db()
    entry = incident.timeline.latest("occurred_at", "id")
    assert incident.severity.name == "SEV1"
    assert entry.kind == EventKind.SEVERITY_CHANGED
    assert entry.data == {"from": "SEV2", "to": "SEV1"}
    assert "raised severity from SEV2 to SEV1" in entry.message


def test_lowering_severity_is_recorded_as_lowered(incident, responder):
    services.incident_set_severity(incident=incident, actor=responder, severity=severity("SEV4"))

    assert (
        "lowered severity from SEV2 to SEV4"
        in incident.timeline.latest("occurred_at", "id").message
    )


def test_setting_the_same_severity_changes_nothing(incident, responder):
    row = Incident.objects.values().get(pk=incident.pk)
    entries = incident.timeline.count()

    returned = services.incident_set_severity(
        incident=incident, actor=responder, severity=severity("SEV2")
    )

    assert returned.severity.name == "SEV2"
    assert Incident.objects.values().get(pk=incident.pk) == row
    assert incident.timeline.count() == entries


@pytest.mark.parametrize("text", ["", "  \n "])
def test_an_empty_note_is_refused(incident, responder, text):
    entries = incident.timeline.count()

    with pytest.raises(ValidationError):
        services.incident_add_note(incident=incident, actor=responder, text=text)

    assert incident.timeline.count() == entries


def test_a_status_update_records_the_status_it_was_posted_in(incident, responder):
    services.incident_set_status(incident=incident, actor=responder, status=Status.IDENTIFIED)

    update = services.incident_post_update(
        incident=incident, actor=responder, message="Cause found", public=True
    )

    update.refresh_from_db()
    assert update.status == Status.IDENTIFIED
    assert update.public
    assert update.author == responder
    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.STATUS_UPDATE
    assert entry.data == {"public": True, "status_update": update.pk}


@pytest.mark.parametrize(
    ("public", "says"), [(True, "posted a public update"), (False, "posted an internal update")]
)
def test_a_status_update_s_timeline_entry_reads_as_english(incident, responder, public, says):
    services.incident_post_update(
        incident=incident, actor=responder, message="Cause found", public=public
    )

    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.message == f"{responder.display_name} {says}: Cause found"


def test_a_public_status_update_on_a_private_incident_is_refused(responder):
    incident = declare(responder, private=True)
    entries = incident.timeline.count()

    with pytest.raises(ValidationError) as raised:
        services.incident_post_update(
            incident=incident, actor=responder, message="We are on it", public=True
        )

    assert "public" in raised.value.message_dict
    assert not StatusUpdate.objects.exists()
    assert incident.timeline.count() == entries


def test_an_internal_status_update_on_a_private_incident_is_posted(responder):
    incident = declare(responder, private=True)

    update = services.incident_post_update(
        incident=incident, actor=responder, message="We are on it", public=False
    )

    assert StatusUpdate.objects.get() == update


def test_an_empty_status_update_is_refused(incident, responder):
    with pytest.raises(ValidationError):
        services.incident_post_update(incident=incident, actor=responder, message=" ")

    assert not StatusUpdate.objects.exists()


def test_update_details_records_the_changed_fields(incident, responder):
    service = ServiceFactory.create(name="search")

    services.incident_update_details(
        incident=incident,
        actor=responder,
        summary="Search is down",
        cause_category="deploy",
        services=[service],
    )

    incident.refresh_from_db()
    assert incident.summary == "Search is down"
    assert incident.cause_category == "deploy"
    assert list(incident.services.all()) == [service]
    assert incident.timeline.latest("occurred_at", "id").data == {
        "fields": ["summary", "cause_category", "services"]
    }


def test_update_details_without_a_change_writes_nothing(incident, responder):
    entries = incident.timeline.count()

    services.incident_update_details(
        incident=incident, actor=responder, title=incident.title, services=[]
    )

    assert incident.timeline.count() == entries


def test_the_commander_may_make_a_public_incident_private(incident, commander):
    services.incident_update_details(incident=incident, actor=commander, private=True)

    incident.refresh_from_db()
    entry = incident.timeline.latest("occurred_at", "id")
    assert incident.private
    assert entry.message == "Cole Commander made the incident private"
    assert entry.data == {"fields": ["private"]}


def test_the_commander_may_make_it_public_again(incident, commander):
    services.incident_update_details(incident=incident, actor=commander, private=True)

    services.incident_update_details(incident=incident, actor=commander, private=False)

    incident.refresh_from_db()
    assert not incident.private
    messages = list(incident.timeline.order_by("id").values_list("message", flat=True))
    assert messages[-2:] == [
        "Cole Commander made the incident private",
        "Cole Commander made the incident public",
    ]


def test_a_responder_who_is_not_commander_may_not_make_an_incident_private(incident, responder):
    row = Incident.objects.values().get(pk=incident.pk)
    entries = incident.timeline.count()

    with pytest.raises(PermissionDenied) as refused:
        services.incident_update_details(
            incident=incident, actor=responder, title="Renamed", private=True
        )

    assert "commander, a manager or an admin may make it private" in str(refused.value)
    assert Incident.objects.values().get(pk=incident.pk) == row
    assert incident.timeline.count() == entries


def test_a_responder_who_is_not_commander_may_not_make_a_private_incident_public(responder):
    incident = declare(responder, private=True)
    row = Incident.objects.values().get(pk=incident.pk)
    entries = incident.timeline.count()

    with pytest.raises(PermissionDenied):
        services.incident_update_details(
            incident=incident, actor=responder, title="Renamed", private=False
        )

    assert Incident.objects.values().get(pk=incident.pk) == row
    assert incident.timeline.count() == entries


def test_a_manager_may_make_an_incident_private_and_public_again(incident, manager):
    services.incident_update_details(incident=incident, actor=manager, private=True)
    incident.participants.add(manager)  # a private incident shows to its participants only

    services.incident_update_details(incident=incident, actor=manager, private=False)

    incident.refresh_from_db()
    assert not incident.private


def test_a_manager_who_cannot_see_a_private_incident_cannot_publish_it(responder, manager):
    incident = declare(responder, private=True)

    with pytest.raises(PermissionDenied):
        services.incident_update_details(incident=incident, actor=manager, private=False)


def test_an_admin_may_make_a_private_incident_public(responder, admin_user):
    incident = declare(responder, private=True)

    services.incident_update_details(
        incident=incident, actor=admin_user, title="Renamed", private=False
    )

    incident.refresh_from_db()
    assert not incident.private
    assert (
        incident.timeline.latest("occurred_at", "id").message
        == "Ada Admin edited title and made the incident public"
    )


def test_keeping_a_private_incident_private_needs_no_commander(responder):
    incident = declare(responder, private=True)

    services.incident_update_details(
        incident=incident, actor=responder, title="Renamed", private=True
    )

    incident.refresh_from_db()
    assert incident.title == "Renamed"
    assert incident.timeline.latest("occurred_at", "id").message == "Rosa Responder edited title"


def test_update_details_refuses_fields_that_have_their_own_service(incident, responder):
    with pytest.raises(ValidationError) as raised:
        services.incident_update_details(incident=incident, actor=responder, status=Status.RESOLVED)

    assert "status" in raised.value.message_dict
    incident.refresh_from_db()
    assert incident.status == Status.DETECTED


def test_update_details_refuses_an_empty_title(incident, responder):
    with pytest.raises(ValidationError):
        services.incident_update_details(incident=incident, actor=responder, title="  ")

    incident.refresh_from_db()
    assert incident.title == "Checkout is failing"


def test_update_details_refuses_an_impact_start_in_the_future(incident, responder):
    with pytest.raises(ValidationError):
        services.incident_update_details(
            incident=incident, actor=responder, started_at=timezone.now() + timedelta(hours=1)
        )


def test_ticking_a_checklist_item_records_who_and_when(incident, responder):
    item = incident.checklist.first()

    services.checklist_item_set_done(item=item, actor=responder, done=True)

    item.refresh_from_db()
    assert item.done_at is not None
    assert item.done_by == responder
    assert incident.timeline.latest("occurred_at", "id").data == {"item": 1, "done": True}


def test_unticking_a_checklist_item_clears_it(incident, responder):
    item = incident.checklist.first()
    services.checklist_item_set_done(item=item, actor=responder, done=True)

    services.checklist_item_set_done(item=item, actor=responder, done=False)

    item.refresh_from_db()
    assert item.done_at is None
    assert item.done_by is None


def test_ticking_a_ticked_item_again_writes_nothing(incident, responder):
    item = incident.checklist.first()
    services.checklist_item_set_done(item=item, actor=responder, done=True)
    entries = incident.timeline.count()

    services.checklist_item_set_done(item=item, actor=responder, done=True)

    assert incident.timeline.count() == entries


def test_highlighting_a_timeline_entry_marks_it(incident, responder):
    entry = incident.timeline.first()

    timeline_event_set_highlight(event=entry, actor=responder, highlighted=True)

    entry.refresh_from_db()
    assert entry.highlighted


def test_assuming_command_creates_the_playbook_checklist(responder, commander):
    incident = declare(responder)

    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )

    assert list(incident.checklist.values_list("title", flat=True)) == PLAYBOOK_CHECKLIST
    assert list(incident.checklist.values_list("position", flat=True)) == list(range(1, 10))
    assert "Cole Commander assumed command" in incident.timeline.latest("occurred_at", "id").message


def test_the_commander_is_kept_on_the_incident_row(incident, commander):
    incident.refresh_from_db()

    assert incident.commander == commander
    assert incident.roles.get().role == RoleKind.COMMANDER


def test_reassigning_command_replaces_the_commander_and_keeps_the_checklist(
    incident, responder, commander, expert
):
    first_item = incident.checklist.first()
    services.checklist_item_set_done(item=first_item, actor=commander, done=True)
    items = list(incident.checklist.values_list("pk", "done_at"))

    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.COMMANDER, user=expert
    )

    incident.refresh_from_db()
    assert incident.commander == expert
    assert list(incident.roles.filter(role=RoleKind.COMMANDER).values_list("user", flat=True)) == [
        expert.pk
    ]
    assert list(incident.checklist.values_list("pk", "done_at")) == items


@pytest.mark.parametrize(
    "role", [RoleKind.COMMUNICATIONS, RoleKind.TECHNICAL_LEAD, RoleKind.SCRIBE]
)
def test_a_single_holder_role_is_replaced(incident, responder, expert, role):
    services.incident_assign_role(incident=incident, actor=responder, role=role, user=responder)

    services.incident_assign_role(incident=incident, actor=responder, role=role, user=expert)

    holders = incident.roles.filter(role=role).values_list("user", flat=True)
    assert list(holders) == [expert.pk]


def test_only_command_creates_a_checklist(responder, expert):
    incident = declare(responder)

    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.TECHNICAL_LEAD, user=expert
    )

    assert not incident.checklist.exists()


def test_subject_experts_may_be_many(incident, responder, expert):
    for user in (responder, expert):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SUBJECT_EXPERT, user=user
        )

    holders = incident.roles.filter(role=RoleKind.SUBJECT_EXPERT).values_list("user", flat=True)
    assert sorted(holders) == sorted([responder.pk, expert.pk])


@pytest.mark.parametrize("role", RoleKind.values)
def test_assigning_the_same_person_twice_is_a_conflict(incident, responder, expert, role):
    if role != RoleKind.COMMANDER:
        services.incident_assign_role(incident=incident, actor=responder, role=role, user=expert)
    holder = expert if role != RoleKind.COMMANDER else incident.commander
    entries = incident.timeline.count()

    with pytest.raises(IncidentConflict) as raised:
        services.incident_assign_role(incident=incident, actor=responder, role=role, user=holder)

    # A role is not a status: the conflict is not a lifecycle move.
    assert not isinstance(raised.value, IllegalTransition)

    assert incident.roles.filter(role=role, user=holder).count() == 1
    assert incident.timeline.count() == entries


def test_a_viewer_cannot_be_given_a_role(incident, responder, viewer):
    entries = incident.timeline.count()

    with pytest.raises(ValidationError):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SCRIBE, user=viewer
        )

    assert not incident.roles.filter(user=viewer).exists()
    assert incident.timeline.count() == entries


def test_an_inactive_user_cannot_be_given_a_role(incident, responder):
    gone = UserFactory.create(username="gone", is_active=False)

    with pytest.raises(ValidationError):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.SCRIBE, user=gone
        )


def test_an_unknown_role_is_refused(incident, responder, expert):
    with pytest.raises(ValidationError):
        services.incident_assign_role(incident=incident, actor=responder, role="chef", user=expert)


def test_a_role_holder_becomes_a_participant(incident, responder, expert):
    services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.SUBJECT_EXPERT, user=expert
    )

    assert incident.participants.filter(pk=expert.pk).exists()


def test_a_role_assignment_is_recorded_with_role_and_user(incident, responder, expert):
    assignment = services.incident_assign_role(
        incident=incident, actor=responder, role=RoleKind.TECHNICAL_LEAD, user=expert
    )

    assert assignment.assigned_by == responder
    entry = incident.timeline.latest("occurred_at", "id")
    assert entry.kind == EventKind.ROLE_ASSIGNED
    assert entry.data == {"role": RoleKind.TECHNICAL_LEAD, "user": "esme"}


@pytest.fixture
def merged(responder, commander, expert):
    survivor = declare(responder, title="Checkout is failing", commander=commander)
    source = declare(expert, title="Payments time out")
    services.incident_add_note(incident=source, actor=expert, text="Seen from the payments side")
    source_entries = list(source.timeline.values_list("pk", flat=True))
    services.incident_merge(incident=source, into=survivor, actor=responder)
    survivor.refresh_from_db()
    source.refresh_from_db()
    return survivor, source, source_entries


def test_merging_moves_the_timeline_to_the_survivor(merged):
    survivor, _, source_entries = merged

    assert set(source_entries) <= set(survivor.timeline.values_list("pk", flat=True))


def test_merging_resolves_the_source_and_points_it_at_the_survivor(merged):
    survivor, source, _ = merged

    assert source.status == Status.RESOLVED
    assert source.resolved_at is not None
    assert source.merged_into == survivor
    assert survivor.status == Status.DETECTED


def test_merging_is_recorded_on_both_incidents(merged):
    survivor, source, _ = merged

    assert source.timeline.get().kind == EventKind.MERGED
    assert source.timeline.get().data == {"into": survivor.number}
    assert survivor.timeline.get(kind=EventKind.MERGED).data == {"from": source.number}


def test_merging_brings_the_participants_along(merged, expert):
    survivor, _, _ = merged

    assert survivor.participants.filter(pk=expert.pk).exists()


def test_merging_resolves_the_source_and_so_publishes_resolved(
    responder, django_capture_on_commit_callbacks
):
    survivor = declare(responder)
    source = declare(responder, title="Payments time out")
    heard: list[events.IncidentEvent] = []
    events.subscribe(events.IncidentResolved, heard.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.incident_merge(incident=source, into=survivor, actor=responder)
    finally:
        events.unsubscribe(events.IncidentResolved, heard.append)

    assert heard == [events.IncidentResolved(incident_id=source.pk, actor_id=responder.pk)]


def test_a_private_incident_cannot_be_merged_into_a_public_one(responder):
    public = declare(responder, title="Checkout is failing")
    private = declare(responder, title="Credentials leaked", private=True)
    services.incident_add_note(incident=private, actor=responder, text="Key found in a gist")
    rows = list(Incident.objects.order_by("pk").values())
    entries = list(TimelineEvent.objects.order_by("pk").values())

    with pytest.raises(ValidationError) as raised:
        services.incident_merge(incident=private, into=public, actor=responder)

    assert "private" in " ".join(raised.value.message_dict["into"])
    assert list(Incident.objects.order_by("pk").values()) == rows
    assert list(TimelineEvent.objects.order_by("pk").values()) == entries


@pytest.mark.parametrize("source_private", [False, True])
def test_any_incident_may_be_merged_into_a_private_one(responder, source_private):
    survivor = declare(responder, title="Credentials leaked", private=True)
    source = declare(responder, title="Odd logins", private=source_private)

    services.incident_merge(incident=source, into=survivor, actor=responder)

    source.refresh_from_db()
    assert source.merged_into == survivor


def test_the_survivor_takes_the_duplicate_s_earlier_start_and_detection(responder):
    # The duplicate was declared first: the outage began, and was seen, when it says.
    half_an_hour_ago = timezone.now() - timedelta(minutes=30)
    duplicate = declare(
        responder,
        title="Payments time out",
        started_at=half_an_hour_ago - timedelta(minutes=5),
        detected_at=half_an_hour_ago,
    )
    survivor = declare(responder, title="Checkout is failing")
    kept_declared_at = survivor.declared_at

    services.incident_merge(incident=duplicate, into=survivor, actor=responder)

    survivor.refresh_from_db()
    assert survivor.started_at == half_an_hour_ago - timedelta(minutes=5)
    assert survivor.detected_at == half_an_hour_ago
    assert survivor.declared_at == kept_declared_at
    entry = survivor.timeline.get(kind=EventKind.MERGED)
    assert set(entry.data["earlier"]) == {"started_at", "detected_at"}
    assert entry.data["earlier"]["detected_at"][1] == half_an_hour_ago.isoformat()
    assert "it was detected" in entry.message


def test_a_later_duplicate_leaves_the_survivor_s_times_alone(responder):
    survivor = declare(responder, title="Checkout is failing")
    times = (survivor.started_at, survivor.detected_at)
    duplicate = declare(responder, title="Payments time out")

    services.incident_merge(incident=duplicate, into=survivor, actor=responder)

    survivor.refresh_from_db()
    assert (survivor.started_at, survivor.detected_at) == times
    assert "earlier" not in survivor.timeline.get(kind=EventKind.MERGED).data


@pytest.mark.parametrize("survivor_acknowledged", [True, False])
def test_an_earlier_acknowledgement_carries_over_only_to_an_acknowledged_survivor(
    responder, survivor_acknowledged
):
    duplicate = declare(responder, title="Payments time out")
    services.incident_acknowledge(incident=duplicate, actor=responder)
    survivor = declare(responder, title="Checkout is failing")
    if survivor_acknowledged:
        services.incident_acknowledge(incident=survivor, actor=responder)
    duplicate.refresh_from_db()

    services.incident_merge(incident=duplicate, into=survivor, actor=responder)

    survivor.refresh_from_db()
    # Stamping an acknowledgement on one nobody acknowledged would stop its paging.
    expected = duplicate.acknowledged_at if survivor_acknowledged else None
    assert survivor.acknowledged_at == expected


def test_an_impact_start_after_detection_is_refused(responder):
    # Time to detect is detection minus the start: the report would show it negative.
    incident = declare(responder, detected_at=timezone.now() - timedelta(minutes=30))

    with pytest.raises(ValidationError) as raised:
        services.incident_update_details(
            incident=incident,
            actor=responder,
            started_at=incident.detected_at + timedelta(minutes=1),
        )

    assert "after the incident was detected" in raised.value.message_dict["started_at"][0]
    incident.refresh_from_db()
    assert incident.started_at == incident.detected_at
    assert incident.timeline.filter(kind=EventKind.EDITED).count() == 0


def test_declare_refuses_an_impact_start_after_the_given_detection(responder):
    detected = timezone.now() - timedelta(minutes=30)

    with pytest.raises(ValidationError) as raised:
        declare(responder, detected_at=detected, started_at=detected + timedelta(minutes=1))

    assert "after the incident was detected" in raised.value.message_dict["started_at"][0]
    assert not Incident.objects.exists()


def test_an_impact_start_at_detection_is_accepted(incident, responder):
    earlier = incident.detected_at - timedelta(minutes=10)
    services.incident_update_details(incident=incident, actor=responder, started_at=earlier)
    services.incident_update_details(
        incident=incident, actor=responder, started_at=incident.detected_at
    )

    incident.refresh_from_db()
    assert incident.started_at == incident.detected_at


def test_an_incident_cannot_be_merged_into_itself(incident, responder):
    with pytest.raises(ValidationError):
        services.incident_merge(incident=incident, into=incident, actor=responder)


@pytest.mark.parametrize("resolved", ["source", "survivor"])
def test_only_open_incidents_merge(responder, resolved):
    source = declare(responder, title="Payments time out")
    survivor = declare(responder)
    services.incident_resolve(incident=source if resolved == "source" else survivor, actor=SYSTEM)
    entries = TimelineEvent.objects.count()

    with pytest.raises(IllegalTransition):
        services.incident_merge(incident=source, into=survivor, actor=responder)

    source.refresh_from_db()
    assert source.merged_into is None
    assert TimelineEvent.objects.count() == entries


def test_moving_history_moves_every_stamp_of_the_incident_and_records_nothing(responder):
    incident = declare(responder)
    services.incident_acknowledge(incident=incident, actor=responder)
    services.incident_add_note(incident=incident, actor=responder, text="Looking.")
    before = Incident.objects.get(pk=incident.pk)
    event_times = list(
        TimelineEvent.objects.filter(incident=incident).values_list("occurred_at", flat=True)
    )
    a_day = timedelta(days=1)

    services.incident_move_history(incident=incident, moved_to=lambda field: F(field) - a_day)

    after = Incident.objects.get(pk=incident.pk)
    assert after.declared_at == before.declared_at - a_day
    assert after.acknowledged_at == before.acknowledged_at - a_day
    assert list(
        TimelineEvent.objects.filter(incident=incident).values_list("occurred_at", flat=True)
    ) == [at - a_day for at in event_times]
    assert all(role.assigned_at < before.declared_at for role in after.roles.all())
