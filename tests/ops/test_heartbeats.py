"""Nothing fails more silently than pages waiting with nobody to send them: beat and a worker
of each queue keep a heartbeat row fresh, and when the pager dies the health page, /metrics
and the full readiness say so within a minute. Real worker, pager and beat processes."""

import signal
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import wait_until
from tests.oncall.cluster import Cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

PAGING = (("kind", "queue"), ("name", "paging"))
CELERY = (("kind", "queue"), ("name", "celery"))
BEAT = (("kind", "beat"), ("name", "beat"))


@pytest.fixture
def cluster(tmp_path, settings, redis_server):
    # Short intervals, so a minute is plenty; the test process reads them too.
    settings.HEARTBEAT_INTERVAL = 1
    settings.HEARTBEAT_STALE_AFTER = 5
    settings.CELERY_BROKER_URL = redis_server.url
    started = Cluster(
        tmp_path, redis_server, {"HEARTBEAT_INTERVAL": "1", "HEARTBEAT_STALE_AFTER": "5"}
    )
    yield started
    started.stop()


def stale(client) -> dict[tuple[tuple[str, str], ...], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == "tocsin_heartbeat_stale"
    }


def queue_length(client, queue: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").content.decode()):
        for sample in family.samples:
            if sample.name == "tocsin_queue_length" and sample.labels["queue"] == queue:
                return sample.value
    raise AssertionError(f"no length for the {queue} queue")


def row(page: str, kind: str, name: str) -> str:
    return page.split(f'id="heartbeat-{kind}-{name}"')[1].split("</tr>")[0]


def test_a_dead_pager_shows_as_stale_within_a_minute(cluster, client, admin_user):
    cluster.start_beat("beat")
    cluster.start_worker("worker", queues="celery")
    cluster.start_worker("pager", queues="paging")
    wait_until(
        lambda: stale(client) == {PAGING: 0, CELERY: 0, BEAT: 0},
        timeout=60,
        what="fresh heartbeats from beat, the worker and the pager",
    )
    client.force_login(admin_user)
    assert "stale" not in client.get("/ops/health/").content.decode()

    cluster.kill("pager")
    killed = time.monotonic()

    wait_until(lambda: stale(client)[PAGING] == 1, timeout=60, what="a stale paging queue")
    assert time.monotonic() - killed < 60
    assert stale(client) == {PAGING: 1, CELERY: 0, BEAT: 0}
    page = client.get("/ops/health/").content.decode()
    assert "stale" in row(page, "queue", "paging")
    assert "running" in row(page, "queue", "celery")
    assert "running" in row(page, "beat", "beat")
    readiness = client.get("/readyz?full=1")
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["heartbeat:queue:paging"] is False
    # The heartbeats beat keeps sending wait in the queue with nobody to take them.
    assert queue_length(client, "paging") >= 1


def test_a_dead_beat_shows_as_stale_though_the_workers_live(cluster, client):
    cluster.start_beat("beat")
    cluster.start_worker("worker", queues="celery,paging")
    wait_until(lambda: stale(client).get(BEAT) == 0, timeout=60, what="beat's heartbeat")

    cluster.kill("beat", signal.SIGKILL)

    wait_until(lambda: stale(client)[BEAT] == 1, timeout=60, what="a stale beat")
