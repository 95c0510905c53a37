"""The tick publishes what the after-commit events never did: a public update whose process
died between the commit and the handler (or whose handler failed) still reaches the page,
once; a resolved public incident made private or merged away afterwards is withdrawn."""

from django.utils import timezone

from incidents import services
from statuspage import tasks
from statuspage.models import ComponentState, PublicIncident, PublicUpdate
from tests.factories import declare
from tests.statuspage.factories import post_public, state


def test_a_public_update_whose_event_never_ran_is_published_by_the_tick_once(api, commander, clock):
    # No events_run: the update commits, its event is never delivered.
    incident = declare(commander, services=[api], severity_name="SEV1")
    update = post_public(incident, commander, "Payments fail.")
    assert not PublicUpdate.objects.exists()

    assert tasks.tick(now=clock.advance()) == []
    assert tasks.tick(now=clock.advance()) == []

    (published,) = PublicUpdate.objects.all()
    assert (published.status_update_id, published.body) == (update.pk, "Payments fail.")
    assert published.public_incident.incident_id == incident.pk
    assert state(api) == ComponentState.MAJOR_OUTAGE


def test_the_tick_publishes_missed_updates_oldest_first_and_the_delivered_ones_not_again(
    api, commander, events_run, clock
):
    incident = declare(commander, services=[api])
    with events_run():
        post_public(incident, commander, "Delivered.")
    clock.advance()
    post_public(incident, commander, "Lost one.")
    clock.advance()
    post_public(incident, commander, "Lost two.")

    tasks.tick(now=clock.advance())

    bodies = PublicUpdate.objects.order_by("id").values_list("body", flat=True)
    assert list(bodies) == ["Delivered.", "Lost one.", "Lost two."]


def test_a_public_update_older_than_the_look_back_is_left(api, commander, clock):
    old = declare(commander, services=[api])
    post_public(old, commander, "Eight days ago.")
    clock.advance(hours=24 * 8)
    recent = declare(commander, services=[api])
    post_public(recent, commander, "Just now.")

    tasks.tick(now=clock.advance())

    assert list(PublicUpdate.objects.values_list("body", flat=True)) == ["Just now."]


def test_a_merged_incidents_missed_update_is_not_published(api, commander, manager):
    duplicate = declare(commander, services=[api])
    post_public(duplicate, commander, "Duplicate.")
    survivor = declare(commander, services=[api])
    post_public(survivor, commander, "Survivor.")
    services.incident_merge(incident=duplicate, into=survivor, actor=manager)

    tasks.tick(now=timezone.now())

    assert list(PublicUpdate.objects.values_list("body", flat=True)) == ["Survivor."]


def test_a_resolved_public_incident_made_private_later_is_withdrawn_by_the_tick(
    api, commander, manager, events_run
):
    with events_run():
        incident = declare(commander, services=[api])
        post_public(incident, commander)
    with events_run():
        services.incident_resolve(incident=incident, actor=commander, resolution="Fixed.")
    # Its event never delivered.
    services.incident_update_details(incident=incident, actor=manager, private=True)
    assert not PublicIncident.objects.get().withdrawn

    tasks.tick(now=timezone.now())

    assert PublicIncident.objects.get().withdrawn
