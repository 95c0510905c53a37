"""A merge marks the duplicate's role entries with where they came from (incident_merge): they
move into the survivor's timeline, but say who held the duplicate's roles, not the survivor's."""

from accounts.models import Role
from incidents import services
from incidents.models import EventKind, RoleKind
from tests.factories import UserFactory, declare


def role_entries(incident):
    return list(
        incident.timeline.filter(kind=EventKind.ROLE_ASSIGNED)
        .order_by("occurred_at", "id")
        .values_list("data", flat=True)
    )


def test_the_duplicates_role_entries_are_marked_with_its_number(responder, commander):
    esme = UserFactory(username="esme", role=Role.RESPONDER)
    survivor = declare(responder, commander=commander)
    duplicate = declare(responder, title="Payments time out", commander=esme)
    services.incident_assign_role(
        incident=duplicate, actor=responder, role=RoleKind.SCRIBE, user=responder
    )

    services.incident_merge(incident=duplicate, into=survivor, actor=responder)

    assert role_entries(survivor) == [
        {"role": RoleKind.COMMANDER, "user": commander.username},
        {"role": RoleKind.COMMANDER, "user": "esme", "merged_from": duplicate.number},
        {"role": RoleKind.SCRIBE, "user": responder.username, "merged_from": duplicate.number},
    ]


def test_entries_merged_twice_keep_the_incident_they_came_from(responder, commander):
    first = declare(responder, commander=commander)
    second = declare(responder, title="Payments time out")
    third = declare(responder, title="Cart is empty", commander=responder)

    services.incident_merge(incident=third, into=second, actor=responder)
    services.incident_merge(incident=second, into=first, actor=responder)

    assert role_entries(first) == [
        {"role": RoleKind.COMMANDER, "user": commander.username},
        {"role": RoleKind.COMMANDER, "user": responder.username, "merged_from": third.number},
    ]


def test_other_moved_entries_are_left_as_they_were(responder):
    survivor = declare(responder)
    duplicate = declare(responder, title="Payments time out")
    services.incident_add_note(incident=duplicate, actor=responder, text="Seen from payments")

    services.incident_merge(incident=duplicate, into=survivor, actor=responder)

    note = survivor.timeline.get(kind=EventKind.NOTE)
    assert "merged_from" not in note.data
