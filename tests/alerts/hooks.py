"""Posting to the webhooks as each source does, from the JSON fixtures kept with the tests."""

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from django.test import Client

from accounts.actors import SYSTEM
from alerts.models import Integration, IntegrationKind
from alerts.services.integrations import integration_create
from alerts.services.processing import alerts_process_pending
from tests.factories import TeamFactory

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAME = re.compile(r"^[a-z_]+$")


def fixture(source: str, name: str) -> Any:
    """tests/alerts/fixtures/<source>/<name>.json, read afresh (tests change what they get)."""
    return json.loads((FIXTURES / source / f"{name}.json").read_text())


def process_all(integration: Integration) -> None:
    """Run the processor as the task does: again while alerts remain."""
    while alerts_process_pending(integration_id=integration.pk).more_pending:
        pass


class Hook:
    """An integration and a client that posts to its webhook as its source does."""

    kind: ClassVar[str]
    source: ClassVar[str]  # the folder of its fixtures
    name: ClassVar[str]
    accepted: ClassVar[int] = 200

    def __init__(self, client: Client, **settings: Any) -> None:
        self.client = client
        self.integration, self.token = integration_create(
            actor=SYSTEM,
            name=self.name,
            kind=self.kind,
            team=TeamFactory(name="Payments"),
            **settings,
        )

    @property
    def url(self) -> str:
        raise NotImplementedError

    def fixture(self, name: str) -> Any:
        return fixture(self.source, name)

    def post(self, payload: Any, **kwargs: Any) -> Any:
        """`payload`: a fixture's name, a raw body (str or bytes), or a value sent as JSON."""
        if (
            isinstance(payload, str)
            and FIXTURE_NAME.match(payload)
            and (FIXTURES / self.source / f"{payload}.json").exists()
        ):
            payload = self.fixture(payload)
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        kwargs.setdefault("content_type", "application/json")
        return self.client.post(kwargs.pop("url", self.url), body, **kwargs)

    def deliver(self, *payloads: Any) -> None:
        """Post each payload (expecting it accepted), then run the processor as the worker
        would."""
        for payload in payloads:
            response = self.post(payload)
            assert response.status_code == self.accepted, response.content
            process_all(self.integration)


class AlertmanagerHook(Hook):
    """Posts as Alertmanager does: the token as a bearer token."""

    kind = IntegrationKind.ALERTMANAGER
    source = "alertmanager"
    name = "Prometheus"
    URL: ClassVar[str] = "/hooks/alertmanager/"

    @property
    def url(self) -> str:
        return self.URL

    def post(self, payload: Any, *, token: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", {"Authorization": f"Bearer {token or self.token}"})
        kwargs["headers"].setdefault("User-Agent", "Alertmanager/0.25.0")
        return super().post(payload, **kwargs)


class GenericHook(Hook):
    """Posts any JSON with the token in the path, as a sender that cannot set a header."""

    kind = IntegrationKind.GENERIC
    source = "generic"
    name = "Grafana"

    @property
    def url(self) -> str:
        return f"/hooks/generic/{self.token}"

    def set_templates_unchecked(self, **templates: str) -> None:
        """Store templates as an older release or a raw SQL edit might have: unvalidated."""
        Integration.objects.filter(pk=self.integration.pk).update(**templates)


class EventsHook(Hook):
    """Posts as a PagerDuty Events API v2 client does: the routing key in the body."""

    kind = IntegrationKind.EVENTS_V2
    source = "events_v2"
    name = "Grafana"
    accepted = 202
    URL: ClassVar[str] = "/hooks/events/v2/enqueue"

    @property
    def url(self) -> str:
        return self.URL

    def event(self, name: str, **changes: Any) -> dict[str, Any]:
        """A fixture event carrying this integration's routing key, with top-level changes."""
        body: dict[str, Any] = self.fixture(name)
        body["routing_key"] = self.token
        body.update(changes)
        return body

    def send(self, name: str, **changes: Any) -> dict[str, Any]:
        """Post a fixture event (expecting 202), then run the processor as the worker would."""
        response = self.post(self.event(name, **changes))
        assert response.status_code == self.accepted, response.content
        process_all(self.integration)
        answer: dict[str, Any] = response.json()
        return answer
