"""Demo data for `make run`: teams, services, one user per role and six months of incidents.

Every incident is run through incidents.services, step by step, so its timeline is the one a
real response would leave. The services stamp the current time; to place the incident in the
past, each step's planned time is noted as it runs (`Clock.step`) and, once the incident is done,
one UPDATE per table moves the rows each step wrote to that step's planned time (`backdate`).
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import Role, User
from incidents import services
from incidents.models import (
    ChecklistItem,
    Incident,
    RoleAssignment,
    RoleKind,
    Service,
    Severity,
    Source,
    Status,
    StatusUpdate,
    Team,
    TimelineEvent,
)

DEMO_PASSWORD = "tocsin-demo"  # noqa: S105 - published on purpose: these are demo accounts


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    team: str = ""


DEMO_USERS = (
    DemoUser("admin", "Amara", "Okafor", Role.ADMIN, "platform"),
    DemoUser("manager", "Miguel", "Santos", Role.MANAGER, "payments"),
    DemoUser("responder", "Riya", "Patel", Role.RESPONDER, "payments"),
    DemoUser("oncall", "Owen", "Fischer", Role.RESPONDER, "platform"),
    DemoUser("viewer", "Vera", "Lind", Role.VIEWER),
)

TEAMS = {
    "payments": ("Payments", "Checkout, payment processing and billing."),
    "platform": ("Platform", "Edge, databases and the infrastructure everything runs on."),
}

# slug: (name, team slug, shown on the public status page)
SERVICES = {
    "checkout-api": ("Checkout API", "payments", True),
    "payment-gateway": ("Payment Gateway", "payments", True),
    "billing-worker": ("Billing Worker", "payments", False),
    "api-gateway": ("API Gateway", "platform", True),
    "core-database": ("Core Database", "platform", False),
}


@dataclass(frozen=True)
class Scenario:
    title: str
    service: str
    severity: str
    cause: str
    finding: str
    fix: str
    private: bool = False


SCENARIOS = (
    Scenario(
        "Checkout returns 502 for a third of requests",
        "checkout-api",
        "SEV1",
        "deploy",
        "Release 4.18 leaks connections from the cart client pool under load.",
        "Rolled back to 4.17; pool leak fixed in 4.18.1.",
    ),
    Scenario(
        "Card authorisations timing out",
        "payment-gateway",
        "SEV1",
        "third party",
        "The acquirer's EU endpoint is degraded and our retries triple the load on it.",
        "Failed over to the secondary acquirer and capped retries at one.",
    ),
    Scenario(
        "Invoice emails delayed by up to three hours",
        "billing-worker",
        "SEV3",
        "capacity",
        "The month-end run queued 400k invoices behind two workers.",
        "Scaled billing workers from 2 to 8; the backlog drained in 25 minutes.",
    ),
    Scenario(
        "Elevated p99 latency on the API gateway",
        "api-gateway",
        "SEV2",
        "capacity",
        "One rate-limit Redis shard holds most keys after the tenant import.",
        "Resharded rate-limit keys by tenant and client id.",
    ),
    Scenario(
        "Primary database CPU pinned at 100%",
        "core-database",
        "SEV1",
        "query",
        "Migration 0142 dropped the index on orders.customer_id; order lookups scan the table.",
        "Recreated the index concurrently and cancelled the runaway queries.",
    ),
    Scenario(
        "Duplicate charges for some customers",
        "payment-gateway",
        "SEV1",
        "bug",
        "The retry path does not forward the idempotency key to the acquirer.",
        "Hotfix forwards idempotency keys; 212 duplicate charges refunded.",
    ),
    Scenario(
        "TLS certificate expired on api.example.com",
        "api-gateway",
        "SEV1",
        "expiry",
        "Certificate renewal has failed silently for two weeks: the DNS challenge record is stale.",
        "Renewed the certificate by hand; added an alert for expiry within 14 days.",
    ),
    Scenario(
        "Reporting replica lagging by ten minutes",
        "core-database",
        "SEV3",
        "query",
        "A long analytics query holds back replay on the reporting replica.",
        "Cancelled the query; analytics moved to its own replica.",
    ),
    Scenario(
        "Coupon codes rejected at checkout",
        "checkout-api",
        "SEV2",
        "configuration",
        "The new promotions engine flag went to 100% instead of 5%.",
        "Flag set back to 5%; flag changes now need a second reviewer.",
    ),
    Scenario(
        "Webhook deliveries to merchants failing",
        "payment-gateway",
        "SEV2",
        "capacity",
        "The outbound proxy pool ran out of file descriptors.",
        "Raised the descriptor limit and restarted the proxy pool.",
    ),
    Scenario(
        "Invoices show the wrong VAT rate for Ireland",
        "billing-worker",
        "SEV2",
        "bug",
        "The tax table update kept last year's rate for IE.",
        "Corrected the rate and reissued 1,340 invoices.",
    ),
    Scenario(
        "Intermittent 401s for mobile clients",
        "api-gateway",
        "SEV2",
        "configuration",
        "Half the gateway pods cache a stale JWKS key set.",
        "Flushed the JWKS cache; refresh interval lowered to 10 minutes.",
    ),
    Scenario(
        "Database primary disk 90% full",
        "core-database",
        "SEV2",
        "configuration",
        "WAL archiving has been stuck since the storage credentials rotated.",
        "Updated the archive credentials; 180 GB of WAL archived and removed.",
    ),
    Scenario(
        "Checkout page slow in Safari",
        "checkout-api",
        "SEV4",
        "configuration",
        "The CDN serves the unminified bundle since last week's rule change.",
        "Restored the CDN minification rule.",
    ),
    Scenario(
        "Typo in the payment failure email",
        "billing-worker",
        "SEV4",
        "content",
        "The template change in 4.12 was not proofread.",
        "Template fixed and copy review added to the release checklist.",
    ),
    Scenario(
        "Suspicious login attempts against the admin console",
        "api-gateway",
        "SEV2",
        "security",
        "Credential stuffing from one botnet; no account was accessed.",
        "Blocked the source ranges and enforced MFA on the admin console.",
        private=True,
    ),
    Scenario(
        "Live API key committed to a public repository",
        "payment-gateway",
        "SEV1",
        "security",
        "A sample app pushed on Friday contains a live merchant key.",
        "Key revoked and rotated; audit logs show no use by third parties.",
        private=True,
    ),
    Scenario(
        "Refund jobs stuck in pending",
        "billing-worker",
        "SEV3",
        "bug",
        "Refund and ledger jobs deadlock on the same account rows.",
        "Ledger writes now take account locks in id order.",
    ),
    Scenario(
        "Internal services receiving 429 from the gateway",
        "api-gateway",
        "SEV3",
        "configuration",
        "The internal clients' rate limit is applied per pod instead of per cluster.",
        "Rate limit for internal clients moved to the cluster-wide limiter.",
    ),
    Scenario(
        "Database failover took four minutes",
        "core-database",
        "SEV2",
        "change",
        "Application connection pools ignore the DNS TTL and keep the old primary.",
        "Pools now re-resolve on connection errors; failover drill scheduled.",
    ),
    Scenario(
        "3-D Secure challenge page not loading",
        "payment-gateway",
        "SEV2",
        "third party",
        "The card network's challenge domain is missing from our CSP allow-list.",
        "Added the domain to the CSP; synthetic check for 3-D Secure added.",
    ),
    Scenario(
        "Orders stuck in processing",
        "checkout-api",
        "SEV2",
        "bug",
        "The order consumer crashes on addresses without a postcode.",
        "Consumer fixed; 2,100 orders replayed from the dead-letter queue.",
    ),
    Scenario(
        "Nightly backup verification failed",
        "core-database",
        "SEV3",
        "change",
        "The restore test host ran out of disk after the dataset grew.",
        "Restore host disk doubled; verification re-run and passed.",
    ),
    Scenario(
        "Currency rates stale for six hours",
        "billing-worker",
        "SEV3",
        "third party",
        "The rates provider changed its response format without notice.",
        "Parser updated; staleness alert now fires after 30 minutes.",
    ),
    Scenario(
        "More 5xx responses after the node upgrade",
        "api-gateway",
        "SEV2",
        "change",
        "The new node image lacks our conntrack tuning; tables fill up under load.",
        "Conntrack settings baked into the node image; nodes rolled.",
    ),
    Scenario(
        "Apple Pay missing at checkout",
        "checkout-api",
        "SEV3",
        "expiry",
        "The Apple Pay merchant identity certificate expired.",
        "Certificate renewed; expiry added to the certificate inventory.",
    ),
    Scenario(
        "Success page shows an error after a successful payment",
        "checkout-api",
        "SEV2",
        "bug",
        "The redirect races the payment webhook and reads the order too early.",
        "The success page now waits for the payment state with a short poll.",
    ),
    Scenario(
        "Connection storm after database restart",
        "core-database",
        "SEV2",
        "capacity",
        "Every service reconnects at once and exhausts max_connections.",
        "PgBouncer in front of the primary; clients back off with jitter.",
    ),
    Scenario(
        "Billing run started twice",
        "billing-worker",
        "SEV2",
        "bug",
        "Two schedulers ran during the deploy and both started the monthly run.",
        "Run claimed with a row lock; duplicate invoices voided.",
    ),
    Scenario(
        "DNS resolution failures in eu-west",
        "api-gateway",
        "SEV1",
        "capacity",
        "CoreDNS pods are OOM-killed after the cache size change.",
        "Memory limits raised and the cache change reverted.",
    ),
    Scenario(
        "Order history search takes ten seconds",
        "checkout-api",
        "SEV4",
        "query",
        "The search query cannot use the trigram index since the collation change.",
        "Index rebuilt with the new collation.",
    ),
    Scenario(
        "Chargeback notifications not ingested",
        "payment-gateway",
        "SEV3",
        "third party",
        "The acquirer moved chargeback files to a new SFTP path.",
        "Ingestion path updated; missed files imported.",
    ),
    Scenario(
        "Autovacuum falling behind on the events table",
        "core-database",
        "SEV3",
        "capacity",
        "Autovacuum cost limits are too low for the events table's write rate.",
        "Per-table autovacuum settings raised; bloat cleared overnight.",
    ),
    Scenario(
        "Checkout unavailable in Brazil",
        "checkout-api",
        "SEV2",
        "configuration",
        "A geo-routing rule still points at the decommissioned sa-east region.",
        "Routing rule corrected; region decommissioning checklist updated.",
    ),
    Scenario(
        "Merchant payouts delayed by a day",
        "billing-worker",
        "SEV2",
        "bug",
        "The payout batch skipped merchants whose bank holiday calendar was empty.",
        "Calendar default fixed; delayed payouts sent the same afternoon.",
    ),
    Scenario(
        "Gateway health dashboard shows false outages",
        "api-gateway",
        "SEV4",
        "configuration",
        "The synthetic check still targets a retired hostname.",
        "Synthetic check retargeted.",
    ),
    Scenario(
        "Memory leak in payment gateway pods",
        "payment-gateway",
        "SEV3",
        "bug",
        "The TLS session cache grows without bound since the client library upgrade.",
        "Pinned the previous client library; upstream bug reported.",
    ),
    Scenario(
        "Customer export visible in debug logs",
        "core-database",
        "SEV2",
        "security",
        "Debug logging was left on for the export job after an investigation.",
        "Logging reset, affected log segments purged, access reviewed.",
        private=True,
    ),
    Scenario(
        "Spike in fraud declines",
        "payment-gateway",
        "SEV3",
        "configuration",
        "The new fraud model shipped with the staging threshold.",
        "Threshold restored to the production value.",
    ),
    Scenario(
        "Stale routes after a failed gateway config push",
        "api-gateway",
        "SEV3",
        "change",
        "The config push aborted halfway and left two route tables live.",
        "Config pushed again atomically; pushes now verify a checksum.",
    ),
)

OPEN_SCENARIO = Scenario(
    "Elevated error rate on wallet payments",
    "payment-gateway",
    "SEV2",
    "",
    "",
    "",
)

INVESTIGATION_NOTES = (
    "Error rate started climbing {lag} minutes before the first alert.",
    "No deploys to {service} in the last two hours; checking upstream dependencies.",
    "Dashboards show the problem in every region, so not a single-zone issue.",
    "Support has {tickets} tickets from customers so far.",
    "Pulled the last 30 minutes of logs; the errors share one stack trace.",
    "Ruled out the load balancer: backends report the same errors directly.",
)

UPDATE_INVESTIGATING = (
    "We are investigating problems with {service}. Next update in 30 minutes.",
    "Some customers see errors from {service}. The team is on it.",
)
UPDATE_MONITORING = (
    "A fix is in place for {service} and we are watching the recovery.",
    "{service} is recovering; we keep monitoring before we call it resolved.",
)

# How much longer than a SEV1 each phase of a lower severity takes, roughly.
PACE = {"SEV1": 1.0, "SEV2": 1.6, "SEV3": 4.0, "SEV4": 10.0}


class Clock:
    """Planned times for one incident's steps, moving forward from when impact began.

    `step()` is called right before each service call. It notes the real time then, so that
    every row stamped between two steps can be moved to the earlier step's planned time.
    """

    def __init__(self, start: datetime, pace: float, rng: random.Random) -> None:
        self.now = start
        self.pace = pace
        self.rng = rng
        self.steps: list[tuple[datetime, datetime]] = []  # (real time, planned time)

    def advance(self, low_minutes: float, high_minutes: float) -> datetime:
        self.now += timedelta(minutes=self.rng.uniform(low_minutes, high_minutes) * self.pace)
        return self.now

    def step(self, low_minutes: float, high_minutes: float) -> None:
        planned = self.advance(low_minutes, high_minutes)
        self.steps.append((timezone.now(), planned))

    def planned(self, field: str) -> Case:
        """`field` moved from the real time it was stamped to its step's planned time."""
        whens = [When(**{f"{field}__gte": real}, then=Value(at)) for real, at in self.steps]
        # The latest matching step wins, so list the steps newest first.
        return Case(*reversed(whens), default=F(field))


class Command(BaseCommand):
    help = (
        "Create demo teams, services, users (one per role) and six months of incidents. "
        "Does nothing when the demo users exist."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "Refusing to create demo accounts with known passwords in production."
            )
        usernames = [user.username for user in DEMO_USERS]
        if User.objects.filter(username__in=usernames).exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            count = Seeder().run()
        self.stdout.write(self.style.SUCCESS(f"Created demo users, teams and {count} incidents."))


class Seeder:
    def __init__(self) -> None:
        # A fixed seed gives the same story on every machine; only the dates follow today.
        self.rng = random.Random(1969)  # noqa: S311 - demo data, not secrets
        # Planned times lie before this, the real times the services stamp after it.
        self.started = timezone.now()
        self.severities = {severity.name: severity for severity in Severity.objects.all()}
        self.catalog: dict[str, Service] = {}
        self.users: dict[str, User] = {}

    def run(self) -> int:
        teams = {
            slug: Team.objects.create(name=name, slug=slug, description=description)
            for slug, (name, description) in TEAMS.items()
        }
        for slug, (name, team, public) in SERVICES.items():
            self.catalog[slug] = Service.objects.create(
                name=name, slug=slug, team=teams[team], public=public
            )
        # Hashing is slow on purpose; the demo accounts can share one hash of one password.
        password = make_password(DEMO_PASSWORD)
        for demo in DEMO_USERS:
            user = User.objects.create(
                username=demo.username,
                email=f"{demo.username}@example.com",
                password=password,
                first_name=demo.first_name,
                last_name=demo.last_name,
                role=demo.role,
                is_staff=demo.role == Role.ADMIN,
                is_superuser=demo.role == Role.ADMIN,
            )
            if demo.team:
                teams[demo.team].members.add(user)
            self.users[demo.username] = user

        day = timedelta(days=1)
        starts = sorted(
            self.started - self.rng.uniform(3, 180) * day for _ in range(len(SCENARIOS))
        )
        for scenario, start in zip(self.rng.sample(SCENARIOS, len(SCENARIOS)), starts, strict=True):
            self.past_incident(scenario, start)
        # The open incident's steps take at most 75 minutes, so they all lie in the past.
        self.open_incident(OPEN_SCENARIO, self.started - timedelta(minutes=90))
        return len(SCENARIOS) + 1

    def people(self, scenario: Scenario) -> tuple[User, User, User]:
        """Declarer, commander and technical lead, from the team that owns the service."""
        team = SERVICES[scenario.service][1]
        local, other = ("responder", "oncall") if team == "payments" else ("oncall", "responder")
        # Security incidents are private and run by the admin, as the playbook asks.
        if scenario.private:
            return self.users[local], self.users["admin"], self.users[local]
        commander = self.rng.choice([local, local, other, "manager"])
        lead = local if commander != local else other
        return self.users[local], self.users[commander], self.users[lead]

    def declare(
        self, scenario: Scenario, clock: Clock, declarer: User, commander: User
    ) -> Incident:
        started_at = clock.now
        detected_at = clock.advance(1, 8)
        clock.step(1, 4)
        source = self.rng.choice([Source.WEB, Source.WEB, Source.SLACK, Source.ALERTMANAGER])
        return services.incident_declare(
            # An alert declares on its own; people declare from the web or Slack.
            actor=None if source == Source.ALERTMANAGER else declarer,
            title=scenario.title,
            severity=self.severities[scenario.severity],
            services=[self.catalog[scenario.service]],
            team=self.catalog[scenario.service].team,
            private=scenario.private,
            commander=commander,
            source=source,
            labels={"service": scenario.service},
            started_at=started_at,
            detected_at=detected_at,
        )

    def past_incident(self, scenario: Scenario, started_at: datetime) -> None:
        clock = Clock(started_at, PACE[scenario.severity], self.rng)
        service_name = SERVICES[scenario.service][0]
        public = SERVICES[scenario.service][2] and not scenario.private
        declarer, commander, lead = self.people(scenario)
        incident = self.declare(scenario, clock, declarer, commander)
        incident = self.investigate(incident, clock, commander, lead, service_name, public)

        if self.rng.random() < 0.15:
            # Impact turned out bigger or smaller than first thought.
            rank = incident.severity.rank + self.rng.choice([-1, 1])
            new = next((s for s in self.severities.values() if s.rank == rank), None)
            if new is not None:
                clock.step(3, 15)
                incident = services.incident_set_severity(
                    incident=incident, actor=commander, severity=new
                )

        if self.rng.random() < 0.85:
            clock.step(10, 50)
            incident = services.incident_set_status(
                incident=incident, actor=lead, status=Status.IDENTIFIED, message=scenario.finding
            )
            clock.step(1, 5)
            incident = services.incident_update_details(
                incident=incident, actor=commander, cause_category=scenario.cause
            )
        else:
            clock.step(10, 50)
            services.incident_add_note(incident=incident, actor=lead, text=scenario.finding)

        clock.step(5, 25)
        incident = services.incident_set_status(
            incident=incident, actor=lead, status=Status.MONITORING, message=scenario.fix
        )
        clock.step(1, 5)
        message = self.rng.choice(UPDATE_MONITORING).format(service=service_name)
        services.incident_post_update(
            incident=incident, actor=commander, message=message, public=public
        )
        self.tick(incident, commander, clock, positions=(6, 7, 8))

        clock.step(15, 60)
        incident = services.incident_resolve(
            incident=incident, actor=commander, resolution=scenario.fix
        )
        self.tick(incident, commander, clock, positions=(9,))
        self.backdate(incident, clock)

    def investigate(
        self,
        incident: Incident,
        clock: Clock,
        commander: User,
        lead: User,
        service_name: str,
        public: bool,
    ) -> Incident:
        """Acknowledge, assemble the team and start investigating."""
        clock.step(1, 6)
        incident = services.incident_acknowledge(incident=incident, actor=commander)
        self.tick(incident, commander, clock, positions=(1,))
        if incident.severity.rank <= 2:
            clock.step(0.5, 2)
            services.incident_assign_role(
                incident=incident, actor=commander, role=RoleKind.TECHNICAL_LEAD, user=lead
            )
        if incident.severity.rank == 1:
            clock.step(0.5, 2)
            services.incident_assign_role(
                incident=incident,
                actor=commander,
                role=RoleKind.COMMUNICATIONS,
                user=self.users["manager"] if commander.username != "manager" else lead,
            )
        self.tick(incident, commander, clock, positions=(2, 3))

        clock.step(1, 5)
        incident = services.incident_set_status(
            incident=incident, actor=commander, status=Status.INVESTIGATING
        )
        clock.step(1, 4)
        message = self.rng.choice(UPDATE_INVESTIGATING).format(service=service_name)
        services.incident_post_update(
            incident=incident, actor=commander, message=message, public=public
        )
        for text in self.rng.sample(INVESTIGATION_NOTES, self.rng.randint(1, 3)):
            clock.step(2, 12)
            note = text.format(
                lag=self.rng.randint(3, 20),
                service=service_name,
                tickets=self.rng.randint(4, 90),
            )
            services.incident_add_note(incident=incident, actor=lead, text=note)
        self.tick(incident, commander, clock, positions=(4, 5))
        return incident

    def open_incident(self, scenario: Scenario, started_at: datetime) -> None:
        """The one incident still running: declared, acknowledged, being investigated."""
        clock = Clock(started_at, 1.0, self.rng)
        declarer, commander, lead = self.people(scenario)
        incident = self.declare(scenario, clock, declarer, commander)
        self.investigate(incident, clock, commander, lead, SERVICES[scenario.service][0], True)
        self.backdate(incident, clock)

    def tick(
        self, incident: Incident, actor: User, clock: Clock, *, positions: tuple[int, ...]
    ) -> None:
        """Tick the commander's checklist items at these positions."""
        for item in ChecklistItem.objects.filter(incident=incident, position__in=positions):
            clock.step(0.2, 2)
            services.checklist_item_set_done(item=item, actor=actor, done=True)

    def backdate(self, incident: Incident, clock: Clock) -> None:
        """Move every timestamp the incident's steps stamped to those steps' planned times."""
        TimelineEvent.objects.filter(incident=incident).update(
            occurred_at=clock.planned("occurred_at")
        )
        RoleAssignment.objects.filter(incident=incident).update(
            assigned_at=clock.planned("assigned_at")
        )
        StatusUpdate.objects.filter(incident=incident).update(posted_at=clock.planned("posted_at"))
        ChecklistItem.objects.filter(incident=incident).update(done_at=clock.planned("done_at"))
        stamps = (
            "declared_at",
            "acknowledged_at",
            "identified_at",
            "mitigated_at",
            "resolved_at",
            "updated_at",
        )
        Incident.objects.filter(pk=incident.pk).update(
            **{field: clock.planned(field) for field in stamps}
        )
