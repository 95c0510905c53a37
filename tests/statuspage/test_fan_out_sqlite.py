"""The subscribers' fan-out is one INSERT … SELECT of our own SQL: on SQLite too (`make run`'s
embedded setup), it reaches exactly the confirmed subscribers concerned, once however often it
runs."""

import pytest

from tests.reports.conftest import migrated_sqlite, run_on_sqlite  # noqa: F401

FAN_OUT = """
import json
from django.utils import timezone
from incidents.models import Service, Severity, Incident
from statuspage.models import Component, PublicIncident, PublicUpdate, Subscriber
from statuspage.subscriptions.services import notify_public_update

now = timezone.now()
api = Service.objects.create(name="API", slug="api", public=True)
web = Service.objects.create(name="Website", slug="web", public=True)
incident = Incident.objects.create(
    number=1, title="internal", severity=Severity.objects.get(name="SEV2"), started_at=now,
    detected_at=now, declared_at=now,
)
def subscriber(address, components=None, confirmed=True):
    made = Subscriber.objects.create(
        kind="email", address=address, all_components=components is None, created_at=now,
        confirmed_at=now if confirmed else None,
    )
    made.components.set(components or [])
subscriber("all@example.com")
subscriber("api@example.com", [Component.objects.get(service=api)])
subscriber("web@example.com", [Component.objects.get(service=web)])
subscriber("unconfirmed@example.com", confirmed=False)
public = PublicIncident.objects.create(
    incident=incident, name="Slow API", status="investigating", impact="minor", started_at=now,
    created_at=now, updated_at=now,
)
public.components.set([Component.objects.get(service=api)])
update = PublicUpdate.objects.create(
    public_incident=public, status="investigating", body="Looking.", created_at=now
)
added = [notify_public_update(update.pk), notify_public_update(update.pk)]
print(json.dumps({
    "added": added,
    "to": sorted(
        Subscriber.objects.filter(notifications__public_update=update).values_list(
            "address", flat=True
        )
    ),
}))
"""


@pytest.mark.slow
def test_the_fan_out_on_sqlite(run_on_sqlite):  # noqa: F811
    assert run_on_sqlite(FAN_OUT, zone="UTC") == {
        "added": [2, 0],
        "to": ["all@example.com", "api@example.com"],
    }
