"""The hosted Atlassian Statuspage hears of what the product publishes: the publishing path
itself queues the push, not only a test calling hosted_push_queue."""

from incidents import services
from incidents.models import Status
from statuspage.hosted.services import deliver_due
from statuspage.models import Component, PublicIncident
from tests.factories import declare
from tests.statuspage.factories import post_public, set_status
from tests.statuspage.hosted_fixtures import hosted_fixture  # noqa: F401


def test_a_public_update_then_its_resolution_reach_the_hosted_page(
    api, commander, events_run, hosted
):
    Component.objects.filter(service=api).update(hosted_component_id="cmpapi0001")
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api], severity_name="SEV2")
        post_public(incident, commander, "Payments fail for some customers.")
    deliver_due()
    created = hosted.only_incident()
    assert created["name"] == "Degraded service: API"
    assert PublicIncident.objects.get().hosted_incident_id == created["id"]

    with events_run():
        services.incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    deliver_due()
    assert hosted.only_incident()["status"] == "resolved"
    assert [request.method for request in hosted.incident_requests()] == ["POST", "PATCH"]


def test_an_internal_update_sends_nothing(api, commander, events_run, hosted):
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api])
        set_status(incident, commander, Status.INVESTIGATING)
        services.incident_post_update(
            incident=incident, actor=commander, message="Looking at pg-7.", public=False
        )
    deliver_due()
    assert hosted.incident_requests() == []
