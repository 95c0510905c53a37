"""The status page's configuration is in the trail: its groups, how a component is shown, the
maintenance scheduled, and the webhooks every public update goes to. What the page records of
incidents (a component's state) and who signs up by email are not configuration."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from statuspage.models import Component, Maintenance
from statuspage.models_subscribers import Subscriber
from statuspage.services import components, maintenance
from statuspage.subscriptions import services as subscriptions
from tests.audit.support import entries_for, last_entry
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(db: None) -> Component:
    service = ServiceFactory(name="API", public=True)
    return Component.objects.get(service=service)


def test_a_group_and_moving_a_component_into_it_are_recorded(manager, api):
    group = components.group_create(actor=manager, name="Core", position=1)

    components.component_update(
        actor=manager,
        component=api,
        public_name="Public API",
        description="",
        group=group,
        position=2,
    )

    assert entries_for(group)
    changes = last_entry(api).changes_dict
    assert changes["public_name"] == ["", "Public API"]
    assert changes["group"][1] == "Core"


def test_a_component_changing_state_writes_no_entry(api):
    before = len(entries_for(api))
    api.state = "major_outage"
    api.state_since = timezone.now()
    api.save(update_fields=["state", "state_since", "updated_at"])

    assert len(entries_for(api)) == before


def test_scheduling_maintenance_is_recorded_with_its_components(manager, api):
    now = timezone.now()
    window = maintenance.maintenance_schedule(
        actor=manager,
        name="Database upgrade",
        message="Writes pause for a minute.",
        scheduled_for=now + timedelta(days=1),
        scheduled_until=now + timedelta(days=1, hours=1),
        components=[api],
    )

    logged = LogEntry.objects.get_for_object(window)
    assert logged.filter(action=LogEntry.Action.CREATE).exists()
    assert any("components" in entry.changes_dict for entry in logged)
    assert Maintenance.objects.get(pk=window.pk).name == "Database upgrade"


def test_a_webhook_subscriber_is_recorded_without_its_secret_or_token(api):
    subscriber = subscriptions.webhook_subscriber_create(url="https://hooks.example.com/status")

    entry = last_entry(subscriber)
    text = str(entry.changes) + entry.changes_text + str(entry.serialized_data)
    assert "hooks.example.com" in text
    assert subscriber.secret not in text
    assert subscriber.token not in text


def test_an_email_subscriber_is_not_in_the_trail(api):
    subscriptions.subscription_request(
        address="reader@example.com", components=None, client_address="192.0.2.1"
    )

    subscriber = Subscriber.objects.get(address="reader@example.com")
    assert entries_for(subscriber) == []
