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


def webhook_url(integration: Integration, token: str = "") -> str:
    """Alertmanager and Events API v2 take the token outside the URL (sources log URLs);
    the generic webhook, for tools that cannot set a header, carries it in the path."""
    if integration.kind == IntegrationKind.ALERTMANAGER:
        path = reverse("hooks:alertmanager")
    elif integration.kind == IntegrationKind.EVENTS_V2:
        path = reverse("hooks:events-v2")
    else:
        # reverse() would percent-encode the placeholder; a token is URL-safe as it is.
        prefix = reverse("hooks:generic", kwargs={"token": "-"}).removesuffix("-")
        path = prefix + (token or TOKEN_PLACEHOLDER)
    return f"{settings.BASE_URL}{path}"


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
    url = webhook_url(integration, token)
    headers = ["-H 'Content-Type: application/json'"]
    body: dict[str, object]
    if integration.kind == IntegrationKind.ALERTMANAGER:
        headers.append(f"-H {shlex.quote(f'Authorization: Bearer {secret}')}")
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
