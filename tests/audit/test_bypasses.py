"""Writes a service could make with QuerySet.update() or bulk_create(), which send no model
signal, so that django-auditlog would record nothing: these services save the rows one by one,
and each test says what the trail holds.

A QuerySet.delete() does send a signal per row, and is recorded (the last test)."""

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from incidents.models import Team
from oncall.models import (
    ContactKind,
    EscalationPolicy,
    EscalationTarget,
    LayerParticipant,
    Notification,
    NotificationKind,
    NotificationRule,
)
from oncall.services import contacts, policies, rotations
from tests.audit.support import assert_by, entries_for, last_entry
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.oncall.factories import contact, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    return TeamFactory(name="Payments", slug="payments")


def test_a_layers_participants_are_recorded(manager, team, alice, bob):
    schedule = rotations.schedule_create(actor=manager, team=team, name="Primary")
    spec = rotations.LayerSpec(
        name="Weekly", participants=[alice, bob], rotation_start=datetime(2026, 1, 5, 9, tzinfo=UTC)
    )

    layer = rotations.layer_create(actor=manager, schedule=schedule, spec=spec)

    participant = LayerParticipant.objects.filter(layer=layer).first()
    assert participant is not None and entries_for(participant)


def test_ending_a_layer_is_recorded(manager, team, alice):
    schedule = rotations.schedule_create(actor=manager, team=team, name="Primary")
    spec = rotations.LayerSpec(
        name="Weekly", participants=[alice], rotation_start=datetime(2026, 1, 5, 9, tzinfo=UTC)
    )
    layer = rotations.layer_create(actor=manager, schedule=schedule, spec=spec)

    rotations.layer_end(actor=manager, layer=layer)

    assert "ends_at" in last_entry(layer).changes


def _level(user):
    return policies.LevelSpec(delay=timedelta(minutes=5), users=[user], schedules=[], lead_teams=[])


def test_who_a_level_pages_is_recorded(manager, alice):
    policy = policies.policy_save(actor=manager, name="Payments", levels=[_level(alice)])

    target = EscalationTarget.objects.get(level__policy=policy)
    assert entries_for(target)


def test_the_former_default_losing_its_flag_is_recorded(manager, alice):
    first = policies.policy_save(
        actor=manager, name="First", levels=[_level(alice)], is_default=True
    )

    policies.policy_save(actor=manager, name="Second", levels=[_level(alice)], is_default=True)

    assert EscalationPolicy.objects.get(pk=first.pk).is_default is False
    assert last_entry(first).changes.get("is_default") == [True, False]


def test_removing_a_method_pages_went_to_is_recorded(responder):
    method = contact(responder, kind=ContactKind.SMS)
    now = timezone.now()
    Notification.objects.create(
        key="page:1",
        kind=NotificationKind.PAGE,
        user=responder,
        contact_method=method,
        due_at=now,
        created_at=now,
    )

    contacts.contact_method_delete(actor=responder, method=method)

    assert "removed_at" in last_entry(method).changes


def test_a_queryset_delete_is_recorded_row_by_row(responder):
    method = contact(responder, kind=ContactKind.SMS)
    step = rule(method, minutes=1)

    NotificationRule.objects.filter(contact_method=method).delete()

    entry = last_entry(step)
    assert entry.changes["delay"] == ["0:01:00", None]
    assert_by(entry, None)


def test_a_deleted_teams_services_and_policies_are_recorded_teamless(client, team):
    root = UserFactory(username="root", is_staff=True, is_superuser=True, role=Role.ADMIN)
    service = ServiceFactory(name="Checkout", team=team)
    policy = EscalationPolicy.objects.create(name="Payments primary", team=team)
    client.force_login(root)

    response = client.post(reverse("admin:incidents_team_delete", args=[team.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
    for obj in (service, policy):
        entry = last_entry(obj)
        assert entry.action == LogEntry.Action.UPDATE
        assert entry.changes == {"team": ["Payments", None]}
        assert_by(entry, root)
