"""Who may call which service. Services check permissions themselves, so every caller (web, API,
Slack, tasks) gets the same answer; a refused call writes nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts.actors import SYSTEM, Actor
from accounts.models import Role, User
from incidents import services
from incidents.models import (
    ChecklistItem,
    Incident,
    IncidentCounter,
    RoleAssignment,
    RoleKind,
    Status,
    StatusUpdate,
    TimelineEvent,
)
from incidents.permissions import Action, can, require
from incidents.timeline import timeline_event_set_highlight
from tests.factories import UserFactory, declare, severity

pytestmark = pytest.mark.django_db


@dataclass
class World:
    actor: Actor
    incident: Incident
    other: Incident  # a second incident like the first, for merges
    assignee: User  # someone to give a role to


# persona → (the fixture or factory giving the acting user, whether the incidents are private)
PERSONAS: dict[str, tuple[str, bool]] = {
    "viewer": ("viewer", False),
    "responder": ("responder", False),
    "manager": ("manager", False),
    "admin": ("admin_user", True),
    "outsider_on_private": ("outsider", True),
    "participant_on_private": ("participant", True),
    "inactive_responder": ("inactive", False),
    "system": ("system", False),
}

ALLOWED = {"responder", "manager", "admin", "participant_on_private", "system"}
# Declaring touches no existing incident, so privacy of others does not matter.
ALLOWED_TO_DECLARE = ALLOWED | {"outsider_on_private"}


def _first_item(world: World) -> ChecklistItem:
    item = world.incident.checklist.first()
    assert item is not None
    return item


def _first_entry(world: World) -> TimelineEvent:
    entry = world.incident.timeline.first()
    assert entry is not None
    return entry


def _resolve(world: World) -> None:
    services.incident_resolve(incident=world.incident, actor=SYSTEM)


# service → (preparation run by the system beforehand, the call made as `world.actor`)
SERVICES: dict[str, tuple[Callable[[World], None] | None, Callable[[World], Any]]] = {
    "declare": (
        None,
        lambda w: services.incident_declare(
            actor=w.actor, title="Search is down", severity=severity("SEV3"), private=True
        ),
    ),
    "acknowledge": (
        None,
        lambda w: services.incident_acknowledge(incident=w.incident, actor=w.actor),
    ),
    "set_status": (
        None,
        lambda w: services.incident_set_status(
            incident=w.incident, actor=w.actor, status=Status.IDENTIFIED
        ),
    ),
    "set_severity": (
        None,
        lambda w: services.incident_set_severity(
            incident=w.incident, actor=w.actor, severity=severity("SEV1")
        ),
    ),
    "assign_role": (
        None,
        lambda w: services.incident_assign_role(
            incident=w.incident, actor=w.actor, role=RoleKind.SCRIBE, user=w.assignee
        ),
    ),
    "add_note": (
        None,
        lambda w: services.incident_add_note(
            incident=w.incident, actor=w.actor, text="Rolling back"
        ),
    ),
    "post_update": (
        None,
        lambda w: services.incident_post_update(
            incident=w.incident, actor=w.actor, message="Fix deployed"
        ),
    ),
    "resolve": (
        None,
        lambda w: services.incident_resolve(incident=w.incident, actor=w.actor),
    ),
    "reopen": (
        _resolve,
        lambda w: services.incident_reopen(incident=w.incident, actor=w.actor),
    ),
    "update_details": (
        None,
        lambda w: services.incident_update_details(
            incident=w.incident, actor=w.actor, summary="Search is down in eu-west-1"
        ),
    ),
    "checklist_item_set_done": (
        None,
        lambda w: services.checklist_item_set_done(item=_first_item(w), actor=w.actor, done=True),
    ),
    "timeline_event_set_highlight": (
        None,
        lambda w: timeline_event_set_highlight(
            event=_first_entry(w), actor=w.actor, highlighted=True
        ),
    ),
    "merge": (
        None,
        lambda w: services.incident_merge(incident=w.other, into=w.incident, actor=w.actor),
    ),
}


def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row a service could write, to show that a refused call wrote none of them."""
    models = [
        Incident,
        Incident.participants.through,
        Incident.services.through,
        IncidentCounter,
        RoleAssignment,
        ChecklistItem,
        TimelineEvent,
        StatusUpdate,
    ]
    return {
        model._meta.label: list(model.objects.order_by("pk").values())  # type: ignore[attr-defined]
        for model in models
    }


@pytest.fixture
def world(request, commander) -> World:
    persona = request.node.callspec.params["persona"]
    source, private = PERSONAS[persona]
    declarer = UserFactory.create(username="dana", role=Role.RESPONDER)
    incident = declare(declarer, private=private, commander=commander)
    other = declare(declarer, title="Payments time out", private=private)
    if source == "system":
        actor = SYSTEM
    elif source == "inactive":
        actor = UserFactory.create(username="ivan", role=Role.RESPONDER, is_active=False)
    elif source == "participant":
        actor = UserFactory.create(username="pia", role=Role.RESPONDER)
        for each in (incident, other):
            services.incident_assign_role(
                incident=each, actor=SYSTEM, role=RoleKind.SUBJECT_EXPERT, user=actor
            )
    else:
        actor = request.getfixturevalue(source)
    assignee = UserFactory.create(username="sam", role=Role.RESPONDER)
    return World(actor=actor, incident=incident, other=other, assignee=assignee)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_service_permission_matrix(world, persona, service):
    prepare, call = SERVICES[service]
    if prepare is not None:
        prepare(world)
    allowed = ALLOWED_TO_DECLARE if service == "declare" else ALLOWED
    before = everything()

    if persona in allowed:
        call(world)
        assert everything() != before
    else:
        with pytest.raises(PermissionDenied):
            call(world)
        assert everything() == before


def test_a_declarer_of_a_private_incident_may_respond_to_it(responder):
    incident = declare(responder, private=True)

    services.incident_add_note(incident=incident, actor=responder, text="On it")

    assert incident.timeline.count() == 2


def test_the_commander_of_a_private_incident_may_respond_to_it(responder, commander):
    incident = declare(responder, private=True, commander=commander)

    services.incident_acknowledge(incident=incident, actor=commander)

    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED


def test_a_manager_outside_a_private_incident_is_refused(responder, manager):
    incident = declare(responder, private=True)

    with pytest.raises(PermissionDenied):
        services.incident_add_note(incident=incident, actor=manager, text="Status?")


def test_merging_needs_permission_on_the_survivor_too(responder, outsider):
    public = declare(outsider, title="Payments time out")
    private = declare(responder, private=True)

    with pytest.raises(PermissionDenied):
        services.incident_merge(incident=public, into=private, actor=outsider)

    public.refresh_from_db()
    assert public.merged_into is None
    assert public.status == Status.DETECTED


def test_an_anonymous_user_may_not_even_view(responder):
    incident = declare(responder)

    assert not can(AnonymousUser(), Action.VIEW, incident)


def test_a_viewer_may_view_a_public_incident_but_not_respond(responder, viewer):
    incident = declare(responder)

    assert can(viewer, Action.VIEW, incident)
    assert not can(viewer, Action.RESPOND, incident)


def test_only_managers_and_admins_manage_the_catalog(responder, manager, admin_user, viewer):
    assert can(manager, Action.MANAGE_CATALOG)
    assert can(admin_user, Action.MANAGE_CATALOG)
    assert not can(responder, Action.MANAGE_CATALOG)
    assert not can(viewer, Action.MANAGE_CATALOG)


def test_a_superuser_counts_as_an_admin(responder):
    incident = declare(responder, private=True)
    root = UserFactory.create(username="root", role=Role.VIEWER, is_superuser=True)

    assert can(root, Action.RESPOND, incident)


@pytest.mark.parametrize("action", Action)
def test_the_system_actor_passes_every_check(responder, action):
    incident = declare(responder, private=True)

    require(SYSTEM, action, incident)
    require(SYSTEM, action)


def test_no_actor_is_an_error_not_the_system(responder):
    incident = declare(responder)

    with pytest.raises(TypeError):
        require(None, Action.RESPOND, incident)  # type: ignore[arg-type]


def test_a_service_that_lost_its_actor_changes_nothing(responder):
    incident = declare(responder)
    before = everything()

    with pytest.raises(TypeError):
        services.incident_resolve(incident=incident, actor=None)  # type: ignore[arg-type]

    assert everything() == before


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action.DECLARE, "You may not declare incidents."),
        (Action.MANAGE_CATALOG, "You may not change teams, services or severities."),
        (Action.MANAGE_INTEGRATIONS, "You may not manage integrations."),
        (Action.MANAGE_ONCALL, "You may not change schedules or escalation policies."),
    ],
)
def test_a_refusal_of_what_concerns_no_one_incident_says_what_was_refused(viewer, action, message):
    with pytest.raises(PermissionDenied, match=message):
        require(viewer, action)
