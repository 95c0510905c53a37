"""A real Prometheus Alertmanager delivering to Tocsin's live server: fire a group, resolve it."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from accounts.actors import SYSTEM
from alerts import tasks
from alerts.models import Alert, AlertStatus, Integration, IntegrationKind
from alerts.services.integrations import integration_create
from alerts.services.processing import alerts_process_pending
from incidents.models import Incident, Source, Status
from tests.factories import TeamFactory
from tests.harness import free_port, wait_until

pytestmark = [
    pytest.mark.slow,
    # The live server needs a committing database; serialized_rollback restores the seeded
    # severities for the tests that run after these.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
WAIT = 15.0

CONFIG = """\
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1m
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


class Alertmanager:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = requests.post(f"{self.base_url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text


@pytest.fixture
def integration_token(request: pytest.FixtureRequest) -> tuple[Integration, str]:
    return integration_create(
        actor=SYSTEM,
        name="Prometheus",
        kind=IntegrationKind.ALERTMANAGER,
        team=TeamFactory(name="Payments"),
        **getattr(request, "param", {}),
    )


@pytest.fixture
def alertmanager(
    tmp_path: Path, live_server: Any, integration_token: tuple[Integration, str]
) -> Iterator[Alertmanager]:
    """Debian's Alertmanager, fresh storage, gossip off, delivering to the live server."""
    if not Path(ALERTMANAGER).exists():
        pytest.fail(f"End-to-end tests need {ALERTMANAGER} (Debian prometheus-alertmanager).")
    _, token = integration_token
    config = tmp_path / "am.yml"
    # The bearer header rather than a token in the URL: Alertmanager logs URLs on errors.
    config.write_text(CONFIG.format(url=f"{live_server.url}/hooks/alertmanager/", token=token))
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        manager = Alertmanager(f"http://127.0.0.1:{port}")
        wait_until(
            lambda: manager.ready() or process.poll() is not None, timeout=WAIT, what="Alertmanager"
        )
        if process.poll() is not None:
            pytest.fail(f"Alertmanager exited:\n{(tmp_path / 'alertmanager.log').read_text()}")
        yield manager
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The integration ids the webhook enqueued processing for (no worker runs here)."""
    calls: list[int] = []
    monkeypatch.setattr(tasks.process_alerts, "delay", calls.append)
    return calls


def checkout_alerts(*, starts: datetime, ends: datetime | None = None) -> list[dict[str, Any]]:
    alerts = []
    for instance, severity in (("checkout-1:8080", "critical"), ("checkout-2:8080", "warning")):
        alert: dict[str, Any] = {
            "labels": {
                "alertname": "CheckoutDown",
                "service": "checkout",
                "instance": instance,
                "severity": severity,
            },
            "annotations": {"description": "Checkout answers 503."},
            "generatorURL": "http://prometheus.example/graph",
            "startsAt": starts.isoformat(),
        }
        if ends is not None:
            alert["endsAt"] = ends.isoformat()
        alerts.append(alert)
    return alerts


def stored(integration: Integration, status: str) -> Callable[[], bool]:
    return lambda: Alert.objects.filter(integration=integration, status=status).count() == 2


@pytest.mark.parametrize(
    ("integration_token", "after_resolution"),
    [({}, Status.MONITORING), ({"auto_resolve": True}, Status.RESOLVED)],
    indirect=["integration_token"],
    ids=["monitoring", "auto-resolve"],
)
def test_alertmanager_groups_alerts_into_one_incident_and_its_resolution_advances_it(
    alertmanager, integration_token, enqueued, after_resolution
):
    integration, _ = integration_token
    started = datetime.now(UTC) - timedelta(minutes=1)

    alertmanager.post_alerts(checkout_alerts(starts=started))
    wait_until(stored(integration, AlertStatus.FIRING), timeout=WAIT, what="both firing alerts")
    alerts_process_pending(integration_id=integration.pk)

    incident = Incident.objects.get()
    assert incident.source == Source.ALERTMANAGER
    assert incident.severity.name == "SEV1"
    assert incident.status == Status.DETECTED
    assert incident.alerts.count() == 2
    assert integration.pk in enqueued

    alertmanager.post_alerts(
        checkout_alerts(starts=started, ends=datetime.now(UTC) - timedelta(seconds=1))
    )
    wait_until(stored(integration, AlertStatus.RESOLVED), timeout=WAIT, what="both resolutions")
    alerts_process_pending(integration_id=integration.pk)

    incident.refresh_from_db()
    assert incident.status == after_resolution
    assert Incident.objects.count() == 1
