"""Demo data for `make run`: teams, services, one user per role, six months of incidents and
the public status page they left.

Every incident is run through incidents.services, step by step, so its timeline is the one a
real response would leave. The services stamp the current time; to place the incident in the
past, each step's planned time is noted as it runs (`Clock.step`) and, once the incident is done,
one UPDATE per table moves the rows each step wrote to that step's planned time (`backdate`).
The status page's rows move the same way (demo.statuspage).
"""

import itertools
import random
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import Role, User
from demo import statuspage as demo_page
from demo.catalog import DEMO_PASSWORD, DEMO_USERS, SERVICES, TEAMS
from demo.postmortems import seed_postmortems
from demo.scenarios import (
    INVESTIGATION_NOTES,
    OPEN_SCENARIO,
    PACE,
    SCENARIOS,
    UPDATE_INVESTIGATING,
    UPDATE_MONITORING,
    Scenario,
)
from incidents import services
from incidents.models import (
    ChecklistItem,
    Incident,
    RoleKind,
    Service,
    Severity,
    Source,
    Status,
    StatusUpdate,
    Team,
)
from statuspage.services import publishing
from statuspage.services.history import components_history_move, public_history_move

# How far back the status page's components go: before the first demo incident.
PAGE_HISTORY = timedelta(days=182)


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

    def mark(self) -> None:
        """Rows stamped from now on belong at the current planned time."""
        self.steps.append((timezone.now(), self.now))

    def planned(self, field: str) -> Case:
        """`field` moved from the real time it was stamped to its step's planned time."""
        whens = [When(**{f"{field}__gte": real}, then=Value(at)) for real, at in self.steps]
        # The latest matching step wins, so list the steps newest first.
        return Case(*reversed(whens), default=F(field))


class Seeder:
    def __init__(self) -> None:
        # A fixed seed gives the same story on every machine; only the dates follow today.
        self.rng = random.Random(1969)  # noqa: S311 - demo data, not secrets
        # Planned times lie before this, the real times the services stamp after it.
        self.started = timezone.now()
        self.severities = {severity.name: severity for severity in Severity.objects.all()}
        self.catalog: dict[str, Service] = {}
        self.users: dict[str, User] = {}
        self.past: list[tuple[Incident, Scenario]] = []

    def run(self) -> int:
        # The services become the page's components now; their history starts half a year ago.
        catalog_clock = Clock(self.started - PAGE_HISTORY, 1.0, self.rng)
        catalog_clock.mark()
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
        components_history_move(moved_to=catalog_clock.planned)
        demo_page.components_arrange(admin=self.users["admin"], catalog=self.catalog)

        day = timedelta(days=1)
        starts = sorted(
            self.started - self.rng.uniform(3, 180) * day for _ in range(len(SCENARIOS))
        )
        maintenance_at = self.maintenance_time(starts)
        for scenario, start in zip(self.rng.sample(SCENARIOS, len(SCENARIOS)), starts, strict=True):
            if maintenance_at is not None and start > maintenance_at:
                # In its place in the components' history, between two incidents.
                demo_page.maintenance_past(
                    admin=self.users["admin"], catalog=self.catalog, starts_at=maintenance_at
                )
                maintenance_at = None
            self.past_incident(scenario, start)
        # The open incident's steps take at most 75 minutes, so they all lie in the past.
        self.open_incident(OPEN_SCENARIO, self.started - timedelta(minutes=90))
        seed_postmortems(self.past, self.users, now=timezone.now())
        demo_page.maintenance_upcoming(
            admin=self.users["admin"], catalog=self.catalog, now=timezone.now()
        )
        return len(SCENARIOS) + 1

    @staticmethod
    def maintenance_time(starts: list[datetime]) -> datetime | None:
        """The past maintenance's start: on the hour, halfway through the longest quiet spell
        between incidents of the last two months, well clear of both."""
        recent = [start for start in starts if start > starts[-1] - timedelta(days=60)]
        gaps = list(itertools.pairwise(recent))
        if not gaps:
            return None
        before, after = max(gaps, key=lambda gap: gap[1] - gap[0])
        return (before + (after - before) / 2).replace(minute=0, second=0, microsecond=0)

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
            actor=SYSTEM if source == Source.ALERTMANAGER else declarer,
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
                self.follow(incident)

        if self.rng.random() < 0.85:
            clock.step(10, 50)
            incident = services.incident_set_status(
                incident=incident, actor=lead, status=Status.IDENTIFIED, message=scenario.finding
            )
            self.follow(incident)
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
        self.follow(incident)
        clock.step(1, 5)
        message = self.rng.choice(UPDATE_MONITORING).format(service=service_name)
        update = services.incident_post_update(
            incident=incident, actor=commander, message=message, public=public
        )
        self.publish(update)
        self.tick(incident, commander, clock, positions=(6, 7, 8))

        clock.step(15, 60)
        incident = services.incident_resolve(
            incident=incident, actor=commander, resolution=scenario.fix
        )
        self.follow(incident)
        self.tick(incident, commander, clock, positions=(9,))
        self.backdate(incident, clock)
        incident.refresh_from_db()
        self.past.append((incident, scenario))

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
        update = services.incident_post_update(
            incident=incident, actor=commander, message=message, public=public
        )
        self.publish(update)
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

    def publish(self, update: StatusUpdate) -> None:
        """What the status page does with a public update once it commits, done now: inside
        the step, so its stamps move with the step. Its handler, after the seed commits, finds
        the work done. An internal update publishes nothing."""
        publishing.public_update_record(
            status_update_id=update.pk, name=demo_page.public_name(update.incident.title)
        )

    def follow(self, incident: Incident) -> None:
        """The public copy in step with the incident's change (nothing if never published)."""
        publishing.public_incident_sync(incident_id=incident.pk)

    def backdate(self, incident: Incident, clock: Clock) -> None:
        """Move every timestamp the incident's steps stamped to those steps' planned times."""
        services.incident_move_history(incident=incident, moved_to=clock.planned)
        public_history_move(incident=incident, moved_to=clock.planned)
