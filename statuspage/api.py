"""Atlassian Statuspage's public API v2 (/status/api/v2/*.json), from our own rows.

Widgets and bots written for a hosted Statuspage read these, so the field names, nesting, value
types and timestamp format are Statuspage's (tests/statuspage/fixtures/statuspage_summary.json
holds its documented shape; tests/statuspage/test_api_shape.py holds us to it). Plain views,
not DRF: they are polled hard during an outage, are not part of /api/v1, and are cached whole
by the page's version.

Ids are the rows' opaque `code`s. Fields Statuspage has and we do not model are answered as a
hosted page answers them by default (`showcase`, `only_show_if_degraded`, `custom_tweet`, …).
"""

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from statuspage import caching, selectors, selectors_api
from statuspage.links import incident_url, maintenance_url, page_url
from statuspage.models import (
    STATE_RANK,
    Component,
    ComponentGroup,
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicUpdate,
)
from statuspage.overall import overall_status

Payload = dict[str, Any]

# What a maintenance event did to its components: (old_status, new_status), Statuspage's
# affected_components of a maintenance update.
MAINTENANCE_MOVES = {
    MaintenanceStatus.SCHEDULED: (ComponentState.OPERATIONAL, ComponentState.OPERATIONAL),
    MaintenanceStatus.IN_PROGRESS: (ComponentState.OPERATIONAL, ComponentState.UNDER_MAINTENANCE),
    MaintenanceStatus.VERIFYING: (
        ComponentState.UNDER_MAINTENANCE,
        ComponentState.UNDER_MAINTENANCE,
    ),
    MaintenanceStatus.COMPLETED: (ComponentState.UNDER_MAINTENANCE, ComponentState.OPERATIONAL),
    MaintenanceStatus.CANCELLED: (ComponentState.OPERATIONAL, ComponentState.OPERATIONAL),
}


def stamp(moment: datetime | None) -> str | None:
    """Statuspage's timestamps: ISO 8601 in the page's zone, to the millisecond, "Z" for UTC."""
    if moment is None:
        return None
    text = moment.astimezone(ZoneInfo(settings.STATUSPAGE_TIME_ZONE)).isoformat(
        timespec="milliseconds"
    )
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def page_payload(updated_at: datetime | None) -> Payload:
    return {
        "id": settings.STATUSPAGE_PAGE_ID,
        "name": settings.STATUSPAGE_NAME,
        "url": page_url(),
        "time_zone": settings.STATUSPAGE_TIME_ZONE,
        "updated_at": stamp(updated_at),
    }


def indicator(
    *, component_states: Iterable[str], impacts: Iterable[str], maintenance_active: bool
) -> Payload:
    """Statuspage's `status` (statuspage.overall: one rule for the page, the API and the
    webhooks)."""
    return overall_status(
        states=component_states, impacts=impacts, maintenance_active=maintenance_active
    ).as_payload()


def _local_date(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.STATUSPAGE_TIME_ZONE)).date().isoformat()


def _component(component: Component, *, position: int) -> Payload:
    group = component.group
    return {
        "id": component.code,
        "name": str(component),
        "status": component.state,
        "created_at": stamp(component.created_at),
        "updated_at": stamp(component.updated_at),
        "position": position,
        "description": component.description or None,
        "showcase": True,
        "start_date": _local_date(component.created_at),
        "group_id": group.code if group is not None else None,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "group": False,
        "only_show_if_degraded": False,
    }


def _group(group: ComponentGroup, children: Sequence[Component], *, position: int) -> Payload:
    """A group as Statuspage lists it: a component of its own, in its children's worst state."""
    worst = max((child.state for child in children), key=lambda state: STATE_RANK[state])
    updated = max([group.updated_at, *(child.updated_at for child in children)])
    return {
        "id": group.code,
        "name": group.name,
        "status": worst,
        "created_at": stamp(group.created_at),
        "updated_at": stamp(updated),
        "position": position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "group": True,
        "only_show_if_degraded": False,
        "components": [child.code for child in children],
    }


class Components:
    """The page's components in Statuspage's flat list, groups before their children;
    positions count from 1 among the top level and within each group, in display order."""

    def __init__(self, components: Sequence[Component]) -> None:
        self.listed: list[Payload] = []
        self.by_code: dict[str, Payload] = {}
        self.names: dict[str, str] = {}
        top = 0
        index = 0
        while index < len(components):
            component = components[index]
            top += 1
            if component.group is None:
                self._add(component, position=top)
                index += 1
                continue
            group = component.group
            children = [component]
            index += 1
            while index < len(components) and components[index].group_id == group.pk:
                children.append(components[index])
                index += 1
            self.listed.append(_group(group, children, position=top))
            for within, child in enumerate(children, start=1):
                self._add(child, position=within)

    def _add(self, component: Component, *, position: int) -> None:
        payload = _component(component, position=position)
        self.listed.append(payload)
        self.by_code[component.code] = payload
        self.names[component.code] = component.grouped_name

    def states(self) -> list[str]:
        return [payload["status"] for payload in self.by_code.values()]

    def of(self, components: Iterable[Component]) -> list[Payload]:
        return [self.by_code[c.code] for c in components if c.code in self.by_code]


def _incident_update(update: PublicUpdate, incident_code: str, listed: Components) -> Payload:
    # Only the four keys Statuspage has, and only components the public still sees.
    affected = [
        {
            "code": moved.get("code"),
            "name": listed.names[moved["code"]],
            "old_status": moved.get("old_status"),
            "new_status": moved.get("new_status"),
        }
        for moved in update.affected_components or []
        if isinstance(moved, dict) and moved.get("code") in listed.names
    ]
    return {
        "id": update.code,
        "status": update.status,
        "body": update.body,
        "incident_id": incident_code,
        "created_at": stamp(update.created_at),
        "updated_at": stamp(update.created_at),
        "display_at": stamp(update.created_at),
        "affected_components": affected,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident_payload(incident: PublicIncident, listed: Components) -> Payload:
    """Expects `updates` and `components` prefetched (selectors.published_incidents)."""
    return {
        "id": incident.code,
        "name": incident.name,
        "status": incident.status,
        "created_at": stamp(incident.created_at),
        "updated_at": stamp(incident.updated_at),
        "monitoring_at": stamp(incident.monitoring_at),
        "resolved_at": stamp(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": incident_url(incident.code),
        "started_at": stamp(incident.started_at),
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "incident_updates": [
            _incident_update(update, incident.code, listed) for update in incident.updates.all()
        ],
        "components": listed.of(incident.components.all()),
        "reminder_intervals": None,
    }


def _maintenance_update(
    update: MaintenanceUpdate, maintenance: Maintenance, listed: Components, *, moved: bool
) -> Payload:
    """`moved`: the update changed the maintenance's status; a later update under the same
    status (a reschedule, a word on progress) moves no component."""
    old, new = MAINTENANCE_MOVES[MaintenanceStatus(update.status)]
    if not moved:
        old = new
    return {
        "id": update.code,
        "status": update.status,
        "body": update.body,
        "incident_id": maintenance.code,
        "created_at": stamp(update.created_at),
        "updated_at": stamp(update.created_at),
        "display_at": stamp(update.created_at),
        "affected_components": [
            {
                "code": component.code,
                "name": listed.names[component.code],
                "old_status": str(old),
                "new_status": str(new),
            }
            for component in maintenance.components.all()
            if component.code in listed.names
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def maintenance_payload(maintenance: Maintenance, listed: Components) -> Payload:
    """Statuspage lists a maintenance as an incident of impact "maintenance" with its window.
    Expects `updates` (newest first) and `components` prefetched (selectors.maintenances)."""
    updates = list(maintenance.updates.all())
    return {
        "id": maintenance.code,
        "name": maintenance.name,
        "status": maintenance.status,
        "created_at": stamp(maintenance.created_at),
        "updated_at": stamp(maintenance.updated_at),
        "monitoring_at": None,
        "resolved_at": stamp(maintenance.completed_at),
        "impact": "maintenance",
        "shortlink": maintenance_url(maintenance.code, maintenance.status),
        # Until it starts, Statuspage gives the time it was scheduled.
        "started_at": stamp(maintenance.started_at or maintenance.created_at),
        "page_id": settings.STATUSPAGE_PAGE_ID,
        "incident_updates": [
            _maintenance_update(
                update,
                maintenance,
                listed,
                moved=index + 1 == len(updates) or updates[index + 1].status != update.status,
            )
            for index, update in enumerate(updates)
        ],
        "components": listed.of(maintenance.components.all()),
        "scheduled_for": stamp(maintenance.scheduled_for),
        "scheduled_until": stamp(maintenance.scheduled_until),
    }


def _listed() -> Components:
    return Components(list(selectors.visible_components()))


def summary_payload() -> Payload:
    listed = _listed()
    incidents = list(selectors.unresolved_incidents())
    maintenances = selectors_api.current_maintenances()
    return {
        "page": page_payload(selectors_api.page_updated_at()),
        "components": listed.listed,
        "incidents": [incident_payload(incident, listed) for incident in incidents],
        "scheduled_maintenances": [maintenance_payload(m, listed) for m in maintenances],
        "status": indicator(
            component_states=listed.states(),
            impacts=[incident.impact for incident in incidents],
            maintenance_active=any(
                m.status in selectors_api.ACTIVE_MAINTENANCE for m in maintenances
            ),
        ),
    }


def status_payload() -> Payload:
    inputs = selectors_api.status_inputs()
    return {
        "page": page_payload(selectors_api.page_updated_at()),
        "status": indicator(
            component_states=inputs.component_states,
            impacts=inputs.unresolved_impacts,
            maintenance_active=inputs.maintenance_active,
        ),
    }


def components_payload() -> Payload:
    return {
        "page": page_payload(selectors_api.page_updated_at()),
        "components": _listed().listed,
    }


def _incidents_payload(incidents: list[PublicIncident]) -> Payload:
    listed = _listed()
    return {
        "page": page_payload(selectors_api.page_updated_at()),
        "incidents": [incident_payload(incident, listed) for incident in incidents],
    }


def _maintenances_payload(maintenances: list[Maintenance]) -> Payload:
    listed = _listed()
    return {
        "page": page_payload(selectors_api.page_updated_at()),
        "scheduled_maintenances": [maintenance_payload(m, listed) for m in maintenances],
    }


def encode(payload: Payload) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _serve(request: HttpRequest, key: Sequence[str], build: Callable[[], Payload]) -> HttpResponse:
    """One JSON endpoint: the body `build` makes, cached under the page's version with its
    validators (statuspage.caching); readable by scripts on any site, as status widgets are
    embedded elsewhere."""
    response = caching.cached_response(
        request,
        ("api", *key),
        lambda: HttpResponse(encode(build()), content_type="application/json; charset=utf-8"),
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def summary(request: HttpRequest) -> HttpResponse:
    return _serve(request, ("summary",), summary_payload)


@require_safe
def status(request: HttpRequest) -> HttpResponse:
    return _serve(request, ("status",), status_payload)


@require_safe
def components(request: HttpRequest) -> HttpResponse:
    return _serve(request, ("components",), components_payload)


@require_safe
def incidents(request: HttpRequest) -> HttpResponse:
    return _serve(
        request, ("incidents",), lambda: _incidents_payload(selectors_api.recent_incidents())
    )


@require_safe
def incidents_unresolved(request: HttpRequest) -> HttpResponse:
    return _serve(
        request,
        ("incidents-unresolved",),
        lambda: _incidents_payload(list(selectors.unresolved_incidents())),
    )


@require_safe
def maintenances(request: HttpRequest) -> HttpResponse:
    return _serve(
        request,
        ("scheduled-maintenances",),
        lambda: _maintenances_payload(selectors_api.recent_maintenances()),
    )


@require_safe
def maintenances_upcoming(request: HttpRequest) -> HttpResponse:
    return _serve(
        request,
        ("scheduled-maintenances-upcoming",),
        lambda: _maintenances_payload(list(selectors.upcoming_maintenances())),
    )


@require_safe
def maintenances_active(request: HttpRequest) -> HttpResponse:
    return _serve(
        request,
        ("scheduled-maintenances-active",),
        lambda: _maintenances_payload(list(selectors.active_maintenances())),
    )
