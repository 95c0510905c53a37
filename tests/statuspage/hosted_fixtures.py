"""Public incidents built with the ORM (spcore's publishing services are not merged yet), and
the Atlassian Statuspage stub the hosted push talks to."""

from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone

from statuspage.hosted.services import hosted_push_queue
from statuspage.models import Component, PublicIncident, PublicUpdate
from tests.factories import ServiceFactory, declare
from tests.stubs.atlassian_statuspage import AtlassianStatuspageStub

HOSTED_COMPONENTS = ("cmpapi0001", "cmpweb0002", "cmpdb00003")


@pytest.fixture(name="hosted")
def hosted_fixture(settings) -> Iterator[AtlassianStatuspageStub]:
    """The hosted page, and Tocsin configured to push to it."""
    with AtlassianStatuspageStub(component_ids=HOSTED_COMPONENTS) as stub:
        settings.STATUSPAGE_HOSTED_API_URL = stub.url
        settings.STATUSPAGE_HOSTED_PAGE_ID = stub.page_id
        settings.STATUSPAGE_HOSTED_API_KEY = stub.api_key
        settings.STATUSPAGE_HOSTED_TIMEOUT = 2.0
        yield stub
    stub.assert_nothing_unexpected()


def component(name: str, hosted_id: str = "", state: str = "operational") -> Component:
    now = timezone.now()
    return Component.objects.create(
        service=ServiceFactory(name=name),
        hosted_component_id=hosted_id,
        state=state,
        state_since=now,
        created_at=now,
    )


def publish(
    *,
    components: list[Component],
    name: str = "Checkout errors",
    impact: str = "major",
    body: str = "We are investigating failed payments.",
) -> PublicIncident:
    """A public incident with its first public update, queued for the hosted page as the
    publishing code will queue it."""
    now = timezone.now()
    incident = PublicIncident.objects.create(
        incident=declare(title="Payments DB primary lost: failover of pg-7 stuck"),
        name=name,
        status="investigating",
        impact=impact,
        started_at=now,
        created_at=now,
        updated_at=now,
    )
    incident.components.set(components)
    post_update(incident, "investigating", body)
    return incident


def post_update(incident: PublicIncident, status: str, body: str) -> PublicUpdate:
    """One transaction, as publishing is: a push never reads the update without its status."""
    with transaction.atomic():
        update = PublicUpdate.objects.create(
            public_incident=incident, status=status, body=body, created_at=timezone.now()
        )
        incident.status = status
        if status == "resolved":
            incident.resolved_at = update.created_at
        incident.save(update_fields=["status", "resolved_at"])
        hosted_push_queue(incident.pk)
    return update


def set_state(component: Component, state: str, *, incident: PublicIncident) -> None:
    """A component's state changes (spcore's states_recompute), and the incident's push is
    queued."""
    component.state = state
    component.save(update_fields=["state"])
    hosted_push_queue(incident.pk)
