"""A worker killed with SIGKILL mid-push, after the hosted page took its POST and before the
answer came back: the push is not lost, and no second hosted incident is created."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from statuspage.hosted.services import LEASE, deliver_due
from statuspage.models_hosted import HostedPush, PushState
from tests.harness import ROOT, database_url, wait_until
from tests.statuspage.hosted_fixtures import (
    component,
    hosted_fixture,  # noqa: F401
    publish,
)

# A worker's round, in a process of its own (as a Celery worker runs the task).
WORKER = (
    "import django; django.setup(); "
    "from statuspage.hosted.services import deliver_due; deliver_due()"
)


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_after_its_create_landed_leaves_one_hosted_incident(hosted):
    api = component("API", "cmpapi0001", state="major_outage")
    incident = publish(components=[api])
    # The page creates the incident at once and answers a minute later.
    hosted.stall_next(60)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "STATUSPAGE_HOSTED_API_URL": hosted.url,
        "STATUSPAGE_HOSTED_PAGE_ID": hosted.page_id,
        "STATUSPAGE_HOSTED_API_KEY": hosted.api_key,
        "STATUSPAGE_HOSTED_TIMEOUT": "60",
    }
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env)
    try:
        wait_until(lambda: len(hosted.incidents) == 1, timeout=60, what="the worker's POST")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    row = HostedPush.objects.get(public_incident=incident)
    assert row.state == PushState.SENDING
    assert row.create_started_at is not None

    # Within the lease nobody touches it; after, the next round adopts what the POST made.
    assert deliver_due(row.claimed_at + LEASE - timedelta(seconds=1)) == {}
    assert deliver_due(timezone.now() + LEASE) == {"sent": 1}

    assert [r.method for r in hosted.incident_requests()] == ["POST", "GET"]
    incident.refresh_from_db()
    assert incident.hosted_incident_id == hosted.only_incident()["id"]
    row.refresh_from_db()
    assert (row.state, row.attempts, row.create_started_at) == (PushState.DONE, 0, None)
