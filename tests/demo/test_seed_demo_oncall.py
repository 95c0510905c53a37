"""`make run`'s on-call demo: schedules, the playbook's policy, and people who can be paged."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Integration
from oncall import schedules, selectors
from oncall.models import ContactMethod, EscalationPolicy, Schedule, ScheduleOverride
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    # What seed_demo and seed_demo_alerts leave (seed_demo's six months of incidents are
    # slow and beside the point here).
    for slug in ("payments", "platform"):
        TeamFactory(name=slug.capitalize(), slug=slug)
    for username in ("admin", "manager", "responder", "oncall", "viewer"):
        UserFactory(username=username)
    call_command("seed_demo_alerts", verbosity=0)
    call_command("seed_demo_oncall", verbosity=0)


def test_each_team_gets_a_primary_schedule_of_two_layers_and_an_override(seeded):
    for team in ("Payments", "Platform"):
        primary = Schedule.objects.get(name=f"{team} primary")
        assert primary.layers.count() == 2
        assert ScheduleOverride.objects.filter(schedule=primary).count() == 1
        assert Schedule.objects.filter(name=f"{team} secondary").exists()


def test_someone_is_on_call_now_on_every_demo_schedule(seeded):
    now = timezone.now()
    for schedule in Schedule.objects.all():
        spec = selectors.schedule_spec(schedule, start=now, end=now)
        assert schedules.who_is_on_call(spec, now) is not None, schedule.name


def test_the_playbooks_escalation_is_seeded_and_the_platform_policy_is_the_default(seeded):
    platform = EscalationPolicy.objects.get(is_default=True)
    assert platform.name == "Platform escalation"
    levels = list(platform.levels.all())
    assert [level.delay for level in levels] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=15),
    ]
    assert [level.management for level in levels] == [False, False, True]
    assert Integration.objects.get().escalation_policy == platform


def test_every_demo_user_can_be_paged_by_email(seeded):
    assert ContactMethod.objects.filter(verified_at__isnull=False).count() == 5


def test_seeding_again_changes_nothing(seeded):
    before = (Schedule.objects.count(), EscalationPolicy.objects.count())
    call_command("seed_demo_oncall", verbosity=0)
    assert (Schedule.objects.count(), EscalationPolicy.objects.count()) == before
