"""Statuspage rows for the subscriber tests, written with the ORM (the publishing services
are another part of the work), and the outbox run in the test process."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Service, StatusPageImpact
from postmortems.services import emails
from statuspage.models import (
    Component,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
    Subscriber,
    SubscriberKind,
)
from statuspage.subscriptions import delivery
from tests.factories import declare

INTERNAL_TITLE = "INTERNAL-MARKER db-7 disk full after bad deploy"


def component(name: str) -> Component:
    """The component saving a public service makes (statuspage.services.components_sync)."""
    service = Service.objects.create(name=name, slug=name.lower().replace(" ", "-"), public=True)
    return Component.objects.get(service=service)


def public_update(
    *,
    components: list[Component] = (),  # type: ignore[assignment]
    name: str = "Checkout errors",
    body: str = "We are looking into failed payments.",
    status: str = PublicStatus.INVESTIGATING,
    incident: PublicIncident | None = None,
) -> PublicUpdate:
    now = timezone.now()
    if incident is None:
        internal = declare(title=INTERNAL_TITLE)
        incident = PublicIncident.objects.create(
            incident=internal,
            name=name,
            status=status,
            impact=StatusPageImpact.MAJOR,
            started_at=now,
            created_at=now,
            updated_at=now,
        )
        incident.components.set(components)
    return PublicUpdate.objects.create(
        public_incident=incident, status=status, body=body, created_at=now
    )


def maintenance_update(*, components: list[Component] = ()) -> MaintenanceUpdate:  # type: ignore[assignment]
    now = timezone.now()
    maintenance = Maintenance.objects.create(
        name="Database upgrade",
        message="PostgreSQL 18.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=2),
        created_at=now,
        updated_at=now,
    )
    maintenance.components.set(components)
    return MaintenanceUpdate.objects.create(
        maintenance=maintenance,
        status=MaintenanceStatus.SCHEDULED,
        body="We will upgrade the database.",
        created_at=now,
    )


def email_subscriber(
    address: str, *, components: list[Component] | None = None, confirmed: bool = True
) -> Subscriber:
    now = timezone.now()
    subscriber = Subscriber.objects.create(
        kind=SubscriberKind.EMAIL,
        address=address,
        all_components=components is None,
        created_at=now,
        confirmed_at=now if confirmed else None,
    )
    if components:
        subscriber.components.set(components)
    return subscriber


@pytest.fixture(name="run")
def run_fixture(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Run `work`, then what it left for after commit."""

    def run(work: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return work()

    return run


@pytest.fixture(name="deliver")
def deliver_fixture(run) -> Callable[[], list[int]]:
    """The tick and the workers it hands batches to, in this process."""

    def batches(ids: list[list[int]]) -> None:
        for batch in ids:
            delivery.deliver_batch(batch)

    return lambda: run(lambda: delivery.deliver_due(enqueue=batches))


@pytest.fixture(name="send_confirmations")
def send_confirmations_fixture(run) -> Callable[[], None]:
    """The email outbox the confirmation emails go through (postmortems')."""

    def send(ids: list[int]) -> None:
        for email_id in ids:
            emails.email_send(email_id=email_id)

    return lambda: run(lambda: emails.emails_dispatch_due(enqueue=send))
