"""Demo on-call data for `make run`: per team a primary schedule (two layers and an override) and
a secondary one, escalation policies after the playbook, and email for every demo user.

Built through oncall.services, as an admin would build it. Run after seed_demo and
seed_demo_alerts: the demo's integration pages the platform team's policy.
"""

from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import User
from incidents.models import Team
from oncall.models import (
    ContactKind,
    ContactMethod,
    EscalationPolicy,
)
from oncall.schedules import ShiftLength
from oncall.services import contacts, policies, rotations

# Rotations among the people who can respond; leads are paged at level 2, management at 3.
ROTATIONS = {
    "payments": ["responder", "manager", "oncall"],
    "platform": ["oncall", "admin", "responder"],
}
LEADS = {"payments": "manager", "platform": "admin"}
MANAGEMENT = ["manager", "admin"]  # the playbook's engineering manager and director


def last_monday_nine(now: datetime) -> datetime:
    """The playbook's handoff: weekly, Monday 09:00 UTC; the most recent one before now."""
    monday = (now - timedelta(days=now.weekday())).date()
    handoff = datetime.combine(monday, time(9), tzinfo=UTC)
    return handoff if handoff <= now else handoff - timedelta(days=7)


def reachable_by_email(user: User) -> None:
    # Verified directly: demo addresses cannot receive a code (make run prints mail to
    # the worker's log, where a page shows up for a newcomer to read).
    method = ContactMethod.objects.create(
        user=user,
        kind=ContactKind.EMAIL,
        address=user.email or f"{user.username}@example.com",
        verified_at=timezone.now(),
    )
    contacts.notification_rule_add(actor=user, method=method, delay=timedelta(0))


def team_on_call(team: Team, users: dict[str, User]) -> EscalationPolicy:
    now = timezone.now()
    rotation = [users[name] for name in ROTATIONS[team.slug]]
    team.leads.add(users[LEADS[team.slug]])
    primary = rotations.schedule_create(
        actor=SYSTEM, team=team, name=f"{team.name} primary", time_zone="Europe/London"
    )
    handoff = last_monday_nine(now)
    rotations.layer_create(
        actor=SYSTEM,
        schedule=primary,
        spec=rotations.LayerSpec(
            name="Weekly rotation",
            participants=rotation,
            rotation_start=handoff,
            shift_length=ShiftLength.WEEKLY,
            time_zone="UTC",
            level=1,
        ),
    )
    # Office hours on weekdays are covered by a daily day-shift on top of the week.
    rotations.layer_create(
        actor=SYSTEM,
        schedule=primary,
        spec=rotations.LayerSpec(
            name="Weekday office hours",
            participants=list(reversed(rotation)),
            rotation_start=handoff,
            shift_length=ShiftLength.DAILY,
            time_zone="Europe/London",
            restrictions=[{"start": "09:00", "end": "17:30", "weekdays": [0, 1, 2, 3, 4]}],
            level=2,
        ),
    )
    tomorrow_evening = (now + timedelta(days=1)).replace(hour=18, minute=0, second=0, microsecond=0)
    rotations.override_create(
        actor=SYSTEM,
        schedule=primary,
        user=rotation[-1],
        start=tomorrow_evening,
        end=tomorrow_evening + timedelta(hours=4),
        note="Covering the evening",
    )
    secondary = rotations.schedule_create(
        actor=SYSTEM, team=team, name=f"{team.name} secondary", time_zone="UTC"
    )
    rotations.layer_create(
        actor=SYSTEM,
        schedule=secondary,
        spec=rotations.LayerSpec(
            name="Weekly rotation",
            participants=rotation[1:] + rotation[:1],
            rotation_start=handoff,
            shift_length=ShiftLength.WEEKLY,
            time_zone="UTC",
        ),
    )
    # The playbook's escalation: primary 5 min; secondary and team lead 10 min;
    # engineering manager and director 15 min.
    return policies.policy_save(
        actor=SYSTEM,
        name=f"{team.name} escalation",
        team=team,
        is_default=team.slug == "platform",
        repeat=1,
        description="The playbook's default on-call policy.",
        levels=[
            policies.LevelSpec(
                delay=timedelta(minutes=5), users=[], schedules=[primary], lead_teams=[]
            ),
            policies.LevelSpec(
                delay=timedelta(minutes=10),
                users=[],
                schedules=[secondary],
                lead_teams=[team],
            ),
            policies.LevelSpec(
                delay=timedelta(minutes=15),
                users=[users[name] for name in MANAGEMENT],
                schedules=[],
                lead_teams=[],
                management=True,
            ),
        ],
    )
