"""Deliveries with Redis refusing connections are committed and answered 2xx: queueing their
processing fails after the commit, and the sweeper queues it once Redis is back."""

from pathlib import Path

import pytest

from accounts.actors import SYSTEM
from alerts.models import Alert, IntegrationKind
from alerts.services.integrations import integration_create
from tests.factories import TeamFactory

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"


# Committed for real, so the delivery's on_commit runs; serialized_rollback restores the
# seeded severities that the flush afterwards would delete.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_alertmanager_delivery_is_committed_and_answered_with_redis_refused(
    client, redis_refused, caplog
):
    integration, token = integration_create(
        actor=SYSTEM,
        name="Prometheus",
        kind=IntegrationKind.ALERTMANAGER,
        team=TeamFactory(name="Ops"),
    )

    response = client.post(
        "/hooks/alertmanager/",
        (FIXTURES / "firing.json").read_text(),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200, response.content
    assert Alert.objects.filter(integration=integration).exists()
    # One line per delivery, not a traceback at ERROR for every webhook of the outage.
    [line] = [r for r in caplog.records if r.name == "alerts.tasks"]
    assert line.levelname == "WARNING"
    assert line.exc_info is None
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
