"""Subscribers hear of what the product itself publishes: a public update posted on an
incident, its automatic resolution, and a maintenance scheduled by staff, each reach a
confirmed subscriber's inbox once, through the real SMTP server on loopback."""

from datetime import timedelta

from django.utils import timezone

from incidents import services
from statuspage.models import Component
from statuspage.services.maintenance import maintenance_schedule
from tests.factories import declare
from tests.statuspage.factories import post_public
from tests.statuspage.subscriptions_fixtures import (
    deliver_fixture,  # noqa: F401
    email_subscriber,
    run_fixture,  # noqa: F401
)

ADDRESS = "pat@example.com"


def subjects(smtp_stub) -> list[str]:
    return [message["Subject"] for message in smtp_stub.messages_to(ADDRESS)]


def test_a_public_update_and_the_resolution_reach_a_subscriber(
    api, commander, events_run, smtp_stub, deliver
):
    email_subscriber(ADDRESS)
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api])
        post_public(incident, commander, "Payments fail for some customers.")
    deliver()
    with events_run():
        services.incident_resolve(incident=incident, actor=commander, resolution="Rolled back.")
    deliver()
    deliver()
    notices = smtp_stub.messages_to(ADDRESS)
    assert len(notices) == 2, subjects(smtp_stub)
    # Under the public name made of its components: the internal title stays inside.
    assert "Degraded service: API" in notices[0]["Subject"]
    assert "Checkout errors" not in notices[0].as_string()
    assert "resolved" in notices[1].get_body(preferencelist=("plain",)).get_content().lower()


def test_an_internal_update_reaches_no_subscriber(api, commander, events_run, smtp_stub, deliver):
    email_subscriber(ADDRESS)
    with events_run():
        incident = declare(commander, title="Checkout errors", services=[api])
        services.incident_post_update(
            incident=incident, actor=commander, message="pg-7 is out of disk.", public=False
        )
    deliver()
    smtp_stub.assert_nothing_sent()


def test_scheduled_maintenance_reaches_a_subscriber(api, manager, run, smtp_stub, deliver):
    email_subscriber(ADDRESS)
    now = timezone.now()
    run(
        lambda: maintenance_schedule(
            actor=manager,
            name="Database upgrade",
            message="We upgrade the primary database.",
            scheduled_for=now + timedelta(days=2),
            scheduled_until=now + timedelta(days=2, hours=2),
            components=[Component.objects.get(service=api)],
        )
    )
    deliver()
    (notice,) = smtp_stub.messages_to(ADDRESS)
    assert "Database upgrade" in notice["Subject"]
