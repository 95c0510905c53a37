"""Publishing through domain events: the first public update makes the public incident, later
changes keep it in step, and nothing private is ever published."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents import services
from incidents.models import Status
from statuspage import tasks
from statuspage.models import (
    Component,
    ComponentState,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from statuspage.services.publishing import (
    RESOLVED_TEXT,
    public_update_post,
    public_update_record,
)
from tests.factories import declare
from tests.statuspage.factories import component, post_public, set_severity, set_status, state

OPERATIONAL = ComponentState.OPERATIONAL
PARTIAL = ComponentState.PARTIAL_OUTAGE
MAJOR = ComponentState.MAJOR_OUTAGE


def test_the_first_public_update_publishes_the_incident(api, web, commander, events_run, clock):
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api], severity_name="SEV2")
        set_status(incident, commander, Status.IDENTIFIED)
    assert not PublicIncident.objects.exists()
    with events_run():
        update = post_public(incident, commander, "Payments fail for some customers.")
    public = PublicIncident.objects.get()
    # Named after what is public, never the internal title.
    assert (public.name, public.status, public.impact) == (
        "Degraded service: API",
        PublicStatus.IDENTIFIED,
        "major",
    )
    assert list(public.components.all()) == [component(api)]
    (published,) = public.updates.all()
    assert published.status_update_id == update.pk
    assert (published.body, published.status) == (
        "Payments fail for some customers.",
        PublicStatus.IDENTIFIED,
    )
    assert published.affected_components == [
        {
            "code": component(api).code,
            "name": "API",
            "old_status": OPERATIONAL,
            "new_status": PARTIAL,
        }
    ]


def test_an_unnamed_incident_is_named_after_its_public_components(
    api, web, internal, commander, events_run
):
    Component.objects.filter(service=web).update(public_name="Web app")
    with events_run():
        both = declare(commander, title="Secret", services=[api, web, internal])
        post_public(both, commander)
        none = declare(commander, title="Secret too", services=[internal])
        post_public(none, commander)
    assert PublicIncident.objects.get(incident=both).name == "Degraded service: API, Web app"
    assert PublicIncident.objects.get(incident=none).name == "Service disruption"


def test_a_public_name_once_set_is_kept_by_later_unnamed_updates(api, commander, events_run):
    with events_run():
        incident = declare(commander, title="Secret", services=[api])
        public_update_post(
            incident=incident, actor=commander, message="First.", name="Slow checkout"
        )
        post_public(incident, commander, "Second.")
    assert PublicIncident.objects.get(incident=incident).name == "Slow checkout"


def test_a_second_public_update_adds_to_the_same_incident_and_moves_nothing(
    api, commander, events_run
):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV2")
        post_public(incident, commander, "First.")
        post_public(incident, commander, "Second.")
    public = PublicIncident.objects.get()
    assert [u.body for u in public.updates.order_by("created_at", "id")] == ["First.", "Second."]
    assert public.updates.order_by("id").last().affected_components == []


def test_publishing_an_update_twice_records_it_once(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api])
        update = post_public(incident, commander)
    public_update_record(status_update_id=update.pk)
    assert PublicUpdate.objects.count() == 1


def test_internal_updates_and_notes_publish_nothing(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        services.incident_post_update(incident=incident, actor=commander, message="internal")
        services.incident_add_note(incident=incident, actor=commander, text="a note")
    assert not PublicIncident.objects.exists()
    assert state(api) == OPERATIONAL


def test_a_private_incident_is_never_published(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], private=True, severity_name="SEV1")
        with pytest.raises(ValidationError):
            post_public(incident, commander)
        update = services.incident_post_update(incident=incident, actor=commander, message="x")
    # Even an update marked public by a write that went around the service.
    type(update).objects.filter(pk=update.pk).update(public=True)
    assert public_update_record(status_update_id=update.pk) is None
    assert not PublicIncident.objects.exists()


def test_monitoring_then_resolving_says_so_once(api, commander, events_run, clock):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    monitoring = clock.advance(minutes=10)
    with events_run():
        set_status(incident, commander, Status.MONITORING)
    public = PublicIncident.objects.get()
    assert (public.status, public.monitoring_at) == (PublicStatus.MONITORING, monitoring)
    assert state(api) == MAJOR
    resolved = clock.advance(minutes=10)
    with events_run():
        set_status(incident, commander, Status.RESOLVED)
    public.refresh_from_db()
    assert (public.status, public.resolved_at) == (PublicStatus.RESOLVED, resolved)
    assert state(api) == OPERATIONAL
    last = public.updates.order_by("-created_at", "-id").first()
    assert (last.body, last.status) == (RESOLVED_TEXT, PublicStatus.RESOLVED)
    assert [(a["old_status"], a["new_status"]) for a in last.affected_components] == [
        (MAJOR, OPERATIONAL)
    ]
    assert public.updates.filter(body=RESOLVED_TEXT).count() == 1


def test_no_automatic_resolution_after_a_resolved_public_update(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
        set_status(incident, commander, Status.RESOLVED)
    public = PublicIncident.objects.get()
    assert public.updates.filter(body=RESOLVED_TEXT).count() == 1
    with events_run():
        services.incident_reopen(incident=incident, actor=commander)
    public.refresh_from_db()
    assert (public.status, public.resolved_at) == (PublicStatus.INVESTIGATING, None)
    assert state(api) == MAJOR
    with events_run():
        incident.refresh_from_db()
        set_status(incident, commander, Status.MONITORING)
        post_public(incident, commander, "Fixed for good.")
    with events_run():
        incident.refresh_from_db()
        set_status(incident, commander, Status.RESOLVED)
    # The second resolution gets its own automatic update: the last public one said monitoring.
    assert public.updates.filter(body=RESOLVED_TEXT).count() == 2


def test_a_resolved_public_update_is_the_resolution(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        set_status(incident, commander, Status.RESOLVED)
    with events_run():
        incident.refresh_from_db()
        post_public(incident, commander, "All fixed.")
    public = PublicIncident.objects.get()
    assert [u.body for u in public.updates.all()] == ["All fixed."]
    assert state(api) == OPERATIONAL


def test_severity_changes_move_the_impact(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV3")
        post_public(incident, commander)
    with events_run():
        set_severity(incident, commander, "SEV1")
    assert PublicIncident.objects.get().impact == "critical"
    assert state(api) == MAJOR


def test_services_changed_moves_the_components(api, web, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    with events_run():
        services.incident_update_details(incident=incident, actor=commander, services=[web])
    assert list(PublicIncident.objects.get().components.all()) == [component(web)]
    assert (state(api), state(web)) == (OPERATIONAL, MAJOR)


def test_an_unnamed_incident_is_renamed_when_its_components_change(api, web, commander, events_run):
    with events_run():
        unnamed = declare(commander, services=[api])
        post_public(unnamed, commander)
        named = declare(commander, services=[api])
        public_update_post(incident=named, actor=commander, message="Slow.", name="Slow checkout")
    with events_run():
        services.incident_update_details(incident=unnamed, actor=commander, services=[api, web])
        services.incident_update_details(incident=named, actor=commander, services=[api, web])
    assert PublicIncident.objects.get(incident=unnamed).name == "Degraded service: API, Website"
    # A name the communications lead chose stays.
    assert PublicIncident.objects.get(incident=named).name == "Slow checkout"


def test_made_private_it_is_withdrawn_until_a_new_public_update(
    api, commander, admin_user, events_run
):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    with events_run():
        services.incident_update_details(incident=incident, actor=admin_user, private=True)
    public = PublicIncident.objects.get()
    assert public.withdrawn
    assert state(api) == OPERATIONAL
    with events_run():
        services.incident_update_details(incident=incident, actor=admin_user, private=False)
    public.refresh_from_db()
    assert public.withdrawn
    assert state(api) == OPERATIONAL
    with events_run():
        post_public(incident, commander, "Back on the page.")
    public.refresh_from_db()
    assert not public.withdrawn
    assert state(api) == MAJOR


def test_merged_into_another_it_is_withdrawn(api, commander, manager, events_run):
    with events_run():
        duplicate = declare(commander, title="Dup", services=[api], severity_name="SEV1")
        post_public(duplicate, commander)
        survivor = declare(commander, title="Main", services=[api], severity_name="SEV3")
    with events_run():
        services.incident_merge(incident=duplicate, into=survivor, actor=manager)
    public = PublicIncident.objects.get()
    assert public.withdrawn
    assert not public.updates.filter(body=RESOLVED_TEXT).exists()
    assert state(api) == OPERATIONAL


def test_the_tick_catches_up_on_an_event_that_was_lost(api, commander, events_run):
    with events_run():
        incident = declare(commander, services=[api], severity_name="SEV1")
        post_public(incident, commander)
    # Resolved, but its events never delivered (a subscriber that failed, a process killed
    # between the commit and the handler).
    set_status(incident, commander, Status.RESOLVED)
    assert state(api) == MAJOR
    assert tasks.tick(now=timezone.now()) == []
    public = PublicIncident.objects.get()
    assert public.status == PublicStatus.RESOLVED
    assert state(api) == OPERATIONAL
    assert public.updates.filter(body=RESOLVED_TEXT).count() == 1
