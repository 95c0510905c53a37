"""How a source connects: the webhook URL to give it, an Alertmanager receiver, a curl example.

With no token (it is shown once only, at creation and rotation) these carry a `<token>`
placeholder for the one the manager copied then.
"""

import json
import shlex

from django.conf import settings
from django.urls import reverse
from django.utils.text import slugify

from alerts.models import Integration, IntegrationKind

TOKEN_PLACEHOLDER = "<token>"  # noqa: S105 (a placeholder, not a secret)


def webhook_url(integration: Integration) -> str:
    """The address to post to; the token goes outside it (senders and proxies log URLs):
    an `Authorization: Bearer` header, or the Events API's `routing_key`."""
    names: dict[str, str] = {
        IntegrationKind.ALERTMANAGER: "alerts:hook-alertmanager",
        IntegrationKind.EVENTS_V2: "alerts:hook-events-v2",
    }
    return f"{settings.BASE_URL}{reverse(names.get(integration.kind, 'alerts:hook-generic'))}"


def token_in_path_url(integration: Integration, token: str = "") -> str:
    """The generic webhook's address for tools that cannot set a header: the token in the
    path. Tocsin's logs hide it; the sender's and any proxy's may not."""
    # reverse() would percent-encode the placeholder; a token is URL-safe as it is.
    prefix = reverse("alerts:hook-generic-token", kwargs={"token": "-"}).removesuffix("-")
    return f"{settings.BASE_URL}{prefix}{token or TOKEN_PLACEHOLDER}"


def alertmanager_receiver(integration: Integration, token: str = "") -> str:
    """The `receivers:` entry for alertmanager.yml; the token goes in a bearer header."""
    name = f"tocsin-{slugify(integration.name) or integration.pk}"
    return (
        "receivers:\n"
        f"  - name: {name}\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url(integration)}\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        f"            credentials: {json.dumps(token or TOKEN_PLACEHOLDER)}\n"
    )


def curl_example(integration: Integration, token: str = "") -> str:
    """A request that fires a test alert, in the source's own format."""
    secret = token or TOKEN_PLACEHOLDER
    url = webhook_url(integration)
    headers = ["-H 'Content-Type: application/json'"]
    if integration.kind != IntegrationKind.EVENTS_V2:
        headers.append(f"-H {shlex.quote(f'Authorization: Bearer {secret}')}")
    body: dict[str, object]
    if integration.kind == IntegrationKind.ALERTMANAGER:
        body = {
            "version": "4",
            "status": "firing",
            "receiver": "tocsin",
            "groupKey": '{}:{alertname="TocsinTest"}',
            "groupLabels": {"alertname": "TocsinTest"},
            "commonLabels": {"alertname": "TocsinTest", "severity": "warning"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093",
            "truncatedAlerts": 0,
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "TocsinTest", "severity": "warning"},
                    "annotations": {"summary": "A test alert from curl"},
                    "startsAt": "2026-01-01T00:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example:9090/graph",
                    "fingerprint": "0123456789abcdef",
                }
            ],
        }
    elif integration.kind == IntegrationKind.EVENTS_V2:
        body = {
            "routing_key": secret,
            "event_action": "trigger",
            "dedup_key": "tocsin-test",
            "payload": {
                "summary": "A test alert from curl",
                "source": "curl",
                "severity": "warning",
            },
        }
    else:
        body = {"title": "A test alert from curl", "status": "firing", "id": "tocsin-test"}
    lines = [
        "curl -sS -X POST",
        *headers,
        f"--data {shlex.quote(json.dumps(body))}",
        shlex.quote(url),
    ]
    return " \\\n  ".join(lines)
