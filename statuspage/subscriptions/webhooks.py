"""Webhook subscribers: Atlassian Statuspage's notification payload, and the signed POST.

The body is Statuspage's (`meta`, `page`, then `incident` with `incident_updates` newest first
and `components`, or for a component's change of state `component_update` and `component`), so
receivers written for a hosted Statuspage read ours. It is signed as every
outgoing Tocsin webhook is (README, "Outgoing webhooks"): `X-Tocsin-Timestamp` (unix seconds)
and `X-Tocsin-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{raw body}")>`; the POST
goes only to the public address that was checked, never follows a redirect, and must be
answered 2xx within STATUSPAGE_WEBHOOK_TIMEOUT seconds.
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils.crypto import salted_hmac

from oncall.notifiers.base import NotifierError
from oncall.notifiers.webhook import post_to_checked_addresses, resolve_destination, sign
from statuspage import links, selectors, selectors_api
from statuspage.models import (
    MAINTENANCE_EVENTS,
    Component,
    ComponentStateChange,
    Maintenance,
    PublicIncident,
    PublicUpdate,
)
from statuspage.overall import overall_status

DOCUMENTATION_URL = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"


def page_status() -> dict[str, str]:
    """The payload's page: its overall status as the page and status.json state it."""
    inputs = selectors_api.status_inputs()
    status = overall_status(
        states=inputs.component_states,
        impacts=inputs.unresolved_impacts,
        maintenance_active=inputs.maintenance_active,
    )
    return {
        "id": settings.STATUSPAGE_PAGE_ID,
        "status_indicator": status.indicator,
        "status_description": status.description,
    }


def _component(component: Component) -> dict[str, Any]:
    return {
        "id": component.code,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "group_id": component.group.code if component.group else None,
        "name": str(component),
        "description": component.description or None,
        "status": component.state,
        "position": component.position,
        "showcase": True,
        "created_at": component.created_at,
        "updated_at": component.updated_at,
    }


def incident_document(update: PublicUpdate) -> dict[str, Any]:
    """Statuspage's `incident` as of `update`: the updates up to it, newest first."""
    incident: PublicIncident = update.public_incident
    updates = incident.updates.filter(created_at__lte=update.created_at).order_by(
        "-created_at", "-id"
    )
    # As the JSON API has them: only components the public still sees, named as it names them.
    visible = {c.code: c.grouped_name for c in selectors.visible_components()}
    return {
        "id": incident.code,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "name": incident.name,
        "status": update.status,
        "impact": incident.impact,
        "created_at": incident.created_at,
        "updated_at": update.created_at,
        "monitoring_at": incident.monitoring_at,
        "resolved_at": incident.resolved_at,
        "started_at": incident.started_at,
        "shortlink": links.incident_url(incident.code),
        "scheduled_for": None,
        "scheduled_until": None,
        "incident_updates": [
            {
                "id": each.code,
                "incident_id": incident.code,
                "status": each.status,
                "body": each.body,
                "created_at": each.created_at,
                "updated_at": each.created_at,
                "display_at": each.created_at,
                "affected_components": _affected(each, visible),
            }
            for each in updates
        ],
        "components": [
            _component(c) for c in selectors.visible_components().filter(public_incidents=incident)
        ],
    }


def _affected(update: PublicUpdate, visible: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "code": moved.get("code"),
            "name": visible[moved["code"]],
            "old_status": moved.get("old_status"),
            "new_status": moved.get("new_status"),
        }
        for moved in update.affected_components or []
        if isinstance(moved, dict) and moved.get("code") in visible
    ]


def maintenance_document(maintenance: Maintenance, event: str, at: datetime) -> dict[str, Any]:
    """A maintenance as Statuspage sends it: an `incident` with its schedule, as of `at`."""
    updates = list(maintenance.updates.filter(created_at__lte=at).order_by("-created_at", "-id"))
    latest = updates[0] if updates else None
    # An update or a change of components is under the status the maintenance had then.
    status = MAINTENANCE_EVENTS[event][0] or (latest.status if latest else maintenance.status)
    # The window as the event's update announced it: a later move is told on its own.
    scheduled_for, scheduled_until = (
        latest.window if latest else (maintenance.scheduled_for, maintenance.scheduled_until)
    )
    return {
        "id": maintenance.code,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "name": maintenance.name,
        "status": status,
        "impact": "maintenance",
        "created_at": maintenance.created_at,
        "updated_at": at,
        "monitoring_at": None,
        "resolved_at": maintenance.completed_at if status == "completed" else None,
        "started_at": maintenance.started_at,
        "shortlink": links.maintenance_url(maintenance.code, maintenance.status),
        "scheduled_for": scheduled_for,
        "scheduled_until": scheduled_until,
        "incident_updates": [
            {
                "id": each.code,
                "incident_id": maintenance.code,
                "status": each.status,
                "body": each.body,
                "created_at": each.created_at,
                "updated_at": each.created_at,
                "display_at": each.created_at,
            }
            for each in updates
        ],
        "components": [
            _component(c) for c in selectors.visible_components().filter(maintenances=maintenance)
        ],
    }


def component_update_document(change: ComponentStateChange) -> dict[str, Any]:
    """Statuspage's `component_update` and `component` for the change that opened the span
    `change`: the component as the change left it."""
    component = change.component
    before = (
        ComponentStateChange.objects.filter(component_id=change.component_id)
        .filter(
            Q(started_at__lt=change.started_at) | Q(started_at=change.started_at, pk__lt=change.pk)
        )
        .order_by("-started_at", "-pk")
        .values_list("state", flat=True)
        .first()
    )
    return {
        "component_update": {
            "id": _change_code(change),
            "component_id": component.code,
            "component_type": "Component",
            "old_status": before,
            "new_status": change.state,
            "created_at": change.started_at,
        },
        "component": {**_component(component), "status": change.state},
    }


def _change_code(change: ComponentStateChange) -> str:
    # Opaque, as the page's other ids are (statuspage.models.new_code): a row id would tell
    # how many changes the page has seen. Derived rather than stored, so every copy of the
    # change's payload names it alike.
    return salted_hmac(
        "statuspage.component_update", str(change.pk), algorithm="sha256"
    ).hexdigest()[:12]


def payload_body(document: dict[str, Any], *, unsubscribe_url: str, now: datetime) -> str:
    """The raw JSON body for one subscriber: the event's document (`page` and what changed)
    after its own `meta`."""
    return json.dumps(
        {
            "meta": {
                "unsubscribe": unsubscribe_url,
                "documentation": DOCUMENTATION_URL,
                "generated_at": now,
            },
            **document,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class PostResult:
    succeeded: bool
    status_code: int | None
    error: str
    duration_ms: int


def webhook_post(*, url: str, secret: str, body: str, delivery_id: str) -> PostResult:
    """POST `body` to `url`, signed with `secret`. Succeeds only on a 2xx within the timeout;
    a redirect, any other status, a timeout or no connection is a failure."""
    began = time.monotonic()

    def result(status: int | None, error: str) -> PostResult:
        elapsed = round((time.monotonic() - began) * 1000)
        return PostResult(status is not None and 200 <= status < 300, status, error, elapsed)

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return result(None, f"Invalid webhook URL: {error}")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return result(None, f"Webhook URL must be http(s)://host/...: {url!r}")
    # Checked at each send and connected to as checked (oncall's rule: no DNS rebinding).
    addresses, refused = resolve_destination(parts.hostname)
    if refused:
        return result(None, refused)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tocsin status page",
        "X-Tocsin-Delivery": delivery_id,
        "X-Tocsin-Timestamp": timestamp,
        "X-Tocsin-Signature": sign(secret, timestamp, body),
        "Host": parts.netloc.rpartition("@")[2],
    }
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        status, response_headers = post_to_checked_addresses(
            parts.scheme,
            parts.hostname,
            port,
            addresses,
            path,
            body,
            headers,
            budget=settings.STATUSPAGE_WEBHOOK_TIMEOUT,
        )
    except NotifierError as error:
        return result(None, str(error))
    if 200 <= status < 300:
        return result(status, "")
    if 300 <= status < 400:
        location = response_headers.get("Location", "")
        return result(status, f"Answered {status} redirect to {location!r}; not followed")
    return result(status, f"Answered {status}")
