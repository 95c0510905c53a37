"""Status page rows written with the ORM, at exact times, for the JSON API and feed tests.

The API and feeds only read, so these write statuspage's rows directly (as the publishing
services would leave them), with codes and times the tests choose.
"""

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.cache import cache

from incidents.models import Incident, Service
from statuspage import versions
from statuspage.models import (
    Component,
    ComponentGroup,
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from tests.factories import ServiceFactory, severity

# A copy of ../shared/samples/statuspage/summary.json: Statuspage's documented shape, kept with
# the tests so they run from any checkout.
SAMPLE = Path(__file__).parent / "fixtures" / "statuspage_summary.json"

_numbers = itertools.count(9000)


def page_changed() -> None:
    """What a publishing service's versions.bump() does once it commits: a new page version,
    so cached renders are not served. The tests' transactions never commit, so at once."""
    cache.delete(versions.KEY)
    versions.forget()


def sample() -> dict[str, Any]:
    """Statuspage's documented summary.json, as its docs show it."""
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text())
    return loaded


def at(text: str) -> datetime:
    """An aware time from ISO text, "2026-11-30T14:02Z"."""
    return datetime.fromisoformat(text)


def group(
    name: str, *, code: str | None = None, created: str = "2026-01-10T09:00Z", **fields: Any
) -> ComponentGroup:
    if code is not None:
        fields["code"] = code
    made = ComponentGroup.objects.create(name=name, **fields)
    # auto_now/auto_now_add stamp the wall clock; the tests want their own times.
    ComponentGroup.objects.filter(pk=made.pk).update(created_at=at(created), updated_at=at(created))
    made.refresh_from_db()
    page_changed()
    return made


def component(
    name: str,
    *,
    code: str | None = None,
    in_group: ComponentGroup | None = None,
    position: int = 0,
    state: str = ComponentState.OPERATIONAL,
    created: str = "2026-01-10T09:00Z",
    updated: str | None = None,
    public: bool = True,
    **fields: Any,
) -> Component:
    """The component of a new service; its fields and times set here, whether or not saving a
    public service already made it (statuspage.services.components_sync)."""
    service: Service = ServiceFactory(name=name, public=public)
    if code is not None:
        fields["code"] = code
    Component.objects.update_or_create(
        service=service,
        defaults={
            "group": in_group,
            "position": position,
            "state": state,
            "state_since": at(updated or created),
            "created_at": at(created),
            **fields,
        },
    )
    made = Component.objects.get(service=service)
    Component.objects.filter(pk=made.pk).update(updated_at=at(updated or created))
    made.refresh_from_db()
    page_changed()
    return made


def internal_incident(title: str = "Internal title", **fields: Any) -> Incident:
    """The internal incident a public one is published from (never shown itself)."""
    moment = fields.pop("started_at", at("2026-11-30T13:48Z"))
    return Incident.objects.create(
        number=next(_numbers),
        title=title,
        severity=severity(fields.pop("severity_name", "SEV2")),
        started_at=moment,
        detected_at=moment,
        declared_at=moment,
        **fields,
    )


def public_incident(
    name: str,
    *,
    code: str | None = None,
    status: str = PublicStatus.INVESTIGATING,
    impact: str = "major",
    started: str = "2026-11-30T13:48Z",
    created: str = "2026-11-30T13:51Z",
    updated: str | None = None,
    monitoring: str | None = None,
    resolved: str | None = None,
    components: tuple[Component, ...] = (),
    incident: Incident | None = None,
    **fields: Any,
) -> PublicIncident:
    if code is not None:
        fields["code"] = code
    made = PublicIncident.objects.create(
        incident=incident or internal_incident(started_at=at(started)),
        name=name,
        status=status,
        impact=impact,
        started_at=at(started),
        created_at=at(created),
        updated_at=at(updated or created),
        monitoring_at=at(monitoring) if monitoring else None,
        resolved_at=at(resolved) if resolved else None,
        **fields,
    )
    made.components.set(components)
    page_changed()
    return made


def public_update(
    of: PublicIncident,
    body: str,
    *,
    code: str | None = None,
    status: str = PublicStatus.INVESTIGATING,
    created: str = "2026-11-30T13:51Z",
    affected: list[dict[str, str]] | None = None,
) -> PublicUpdate:
    fields: dict[str, Any] = {"code": code} if code is not None else {}
    page_changed()
    return PublicUpdate.objects.create(
        public_incident=of,
        status=status,
        body=body,
        created_at=at(created),
        affected_components=affected or [],
        **fields,
    )


def maintenance(
    name: str,
    *,
    code: str | None = None,
    status: str = MaintenanceStatus.SCHEDULED,
    message: str = "Planned work.",
    created: str = "2026-11-28T10:00Z",
    scheduled_for: str = "2026-12-06T02:00Z",
    scheduled_until: str = "2026-12-06T03:00Z",
    components: tuple[Component, ...] = (),
    **fields: Any,
) -> Maintenance:
    if code is not None:
        fields["code"] = code
    made = Maintenance.objects.create(
        name=name,
        message=message,
        status=status,
        scheduled_for=at(scheduled_for),
        scheduled_until=at(scheduled_until),
        created_at=at(created),
        updated_at=at(fields.pop("updated", created)),
        **fields,
    )
    made.components.set(components)
    page_changed()
    return made


def maintenance_update(
    of: Maintenance,
    body: str,
    *,
    code: str | None = None,
    status: str = MaintenanceStatus.SCHEDULED,
    created: str = "2026-11-28T10:00Z",
) -> MaintenanceUpdate:
    fields: dict[str, Any] = {"code": code} if code is not None else {}
    page_changed()
    return MaintenanceUpdate.objects.create(
        maintenance=of, status=status, body=body, created_at=at(created), **fields
    )


def sample_page() -> dict[str, Any]:
    """Rows mirroring the sample: a group with two components, an open incident with two
    updates, an upcoming maintenance. Returns them by the sample's ids."""
    payments = group("Payments", code="grp0payments")
    checkout = component(
        "Checkout API",
        code="cmp0checkout",
        in_group=payments,
        position=1,
        state=ComponentState.PARTIAL_OUTAGE,
        updated="2026-11-30T14:02Z",
        description="Card and wallet checkout",
    )
    refunds = component(
        "Refunds", code="cmp0refunds", in_group=payments, position=2, updated="2026-11-02T08:00Z"
    )
    incident = public_incident(
        "Elevated checkout errors",
        code="inc0000000042",
        status=PublicStatus.IDENTIFIED,
        impact="major",
        updated="2026-11-30T14:02Z",
        components=(checkout,),
    )
    public_update(
        incident,
        "Some card payments fail. We are on it.",
        code="upd0000000001",
        affected=[
            {
                "code": "cmp0checkout",
                "name": "Payments - Checkout API",
                "old_status": "operational",
                "new_status": "major_outage",
            }
        ],
    )
    public_update(
        incident,
        "A bad deploy of the card gateway was rolled back.",
        code="upd0000000002",
        status=PublicStatus.IDENTIFIED,
        created="2026-11-30T14:02Z",
        affected=[
            {
                "code": "cmp0checkout",
                "name": "Payments - Checkout API",
                "old_status": "major_outage",
                "new_status": "partial_outage",
            }
        ],
    )
    drill = maintenance(
        "Database failover drill",
        code="mnt0000000007",
        message="Refunds may be delayed for up to 10 minutes.",
        components=(refunds,),
    )
    maintenance_update(drill, "Refunds may be delayed for up to 10 minutes.", code="upd0000000010")
    return {
        "grp0payments": payments,
        "cmp0checkout": checkout,
        "cmp0refunds": refunds,
        "inc0000000042": incident,
        "mnt0000000007": drill,
    }
