"""One incident, fixed to the minute, built through the services that build real ones: an
alert declares it, responders take roles, write notes, pin a Slack message and resolve it.

The golden-file test renders its postmortem; the context tests read its facts.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from accounts.actors import SYSTEM
from accounts.models import User
from alerts.models import AlertStatus, Incident
from alerts.parsers import AlertEvent
from alerts.services.ingest import alert_events_ingest
from alerts.services.processing import alerts_process_pending
from incidents import services
from incidents.models import EventKind, RoleKind, Severity, Source, Status
from incidents.timeline import (
    incident_record_event,
    timeline_event_set_highlight,
    timeline_event_set_removed,
)
from postmortems.models import ActionItemKind, ActionItemPriority
from postmortems.services.action_items import action_item_create
from tests.alerts.factories import make_integration
from tests.clock import Clock
from tests.factories import ServiceFactory, TeamFactory

IMPACT_BEGAN = datetime(2026, 3, 1, 23, 38, tzinfo=UTC)
RUNBOOK = "https://runbooks.example.com/checkout/high-error-rate"
DASHBOARD = "https://grafana.example.com/d/checkout"
ALERT_SOURCE = "https://prometheus.example.com/graph?g0.expr=checkout_5xx_ratio"
PERMALINK = "https://example.slack.com/archives/C1/p1"


@dataclass
class Golden:
    incident: Incident
    commander: User
    technical_lead: User


def at(clock: Clock, hour: int, minute: int, day: int = 1) -> None:
    clock.now = datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def build(clock: Clock, *, commander: User, technical_lead: User) -> Golden:
    """Caller uses the `clock` fixture; it is left at the moment the incident resolved."""
    team = TeamFactory(name="Payments", slug="payments")
    checkout = ServiceFactory(name="checkout", slug="checkout", team=team)
    api = ServiceFactory(name="payments-api", slug="payments-api", team=team)
    integration = make_integration(name="Prometheus", team=team)

    at(clock, 23, 40)
    alert_events_ingest(
        integration=integration,
        events=[
            AlertEvent(
                dedup_key="fp-checkout-5xx",
                status=AlertStatus.FIRING,
                title="HighErrorRate on checkout",
                starts_at=IMPACT_BEGAN,
                event_at=IMPACT_BEGAN,
                labels={"alertname": "HighErrorRate", "service": "checkout"},
                annotations={
                    "summary": "5xx ratio above 10 %",
                    "runbook_url": RUNBOOK,
                    "dashboard_url": DASHBOARD,
                },
                source_url=ALERT_SOURCE,
            )
        ],
    )
    alerts_process_pending(integration_id=integration.pk)
    incident = Incident.objects.get()

    at(clock, 23, 41)
    services.incident_set_severity(
        incident=incident, actor=commander, severity=Severity.objects.get(name="SEV2")
    )
    at(clock, 23, 44)
    services.incident_acknowledge(incident=incident, actor=commander)
    at(clock, 23, 45)
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.COMMANDER, user=commander
    )
    at(clock, 23, 46)
    services.incident_assign_role(
        incident=incident, actor=commander, role=RoleKind.TECHNICAL_LEAD, user=technical_lead
    )
    at(clock, 23, 50)
    services.incident_update_details(
        incident=incident,
        actor=commander,
        summary="Checkout answered 12 % of requests with errors for 57 minutes.",
        services=[checkout, api],
    )
    at(clock, 23, 52)
    note = services.incident_add_note(
        incident=incident,
        actor=technical_lead,
        text="Errors began right after deploy 4812 of checkout | payments-api timeouts.",
    )
    timeline_event_set_highlight(event=note, actor=commander, highlighted=True)
    at(clock, 23, 55)
    incident_record_event(
        incident=incident,
        kind=EventKind.SLACK,
        source=Source.SLACK,
        message="Rosa Responder in Slack: “Rolling back deploy 4812 now”",
        actor=technical_lead,
        data={"pinned": True, "permalink": PERMALINK},
    )
    at(clock, 23, 56)
    unpinned = incident_record_event(
        incident=incident,
        kind=EventKind.SLACK,
        source=Source.SLACK,
        message="Cole Commander in Slack: “Is it the database?”",
        actor=commander,
        data={"pinned": True, "permalink": "https://example.slack.com/archives/C1/p2"},
    )
    timeline_event_set_removed(event=unpinned, removed=True)
    at(clock, 23, 58)
    services.incident_set_status(incident=incident, actor=commander, status=Status.IDENTIFIED)
    at(clock, 0, 10, day=2)
    services.incident_set_status(incident=incident, actor=technical_lead, status=Status.MONITORING)
    at(clock, 0, 20, day=2)
    action_item_create(
        incident=incident,
        actor=commander,
        title="Canary deploys of checkout for 10 minutes",
        owner=technical_lead,
        due_date=date(2026, 3, 16),
        priority=ActionItemPriority.P2,
        kind=ActionItemKind.PREVENT,
        ticket_url="https://tickets.example.com/PAY-101",
    )
    at(clock, 0, 35, day=2)
    services.incident_resolve(
        incident=incident,
        actor=commander,
        resolution="Rolled back deploy 4812; the error ratio fell under 0.1 %.",
    )
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED, SYSTEM
    return Golden(incident=incident, commander=commander, technical_lead=technical_lead)
