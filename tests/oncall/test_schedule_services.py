"""Writing schedules and policies: validated, permission-checked, history kept."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from oncall import schedules, selectors
from oncall.models import EscalationPolicy, Schedule, ScheduleLayer, ScheduleOverride
from oncall.services import policies, rotations
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def weekly(participants, **changes) -> rotations.LayerSpec:
    fields = {"name": "Weekly", "participants": participants, "rotation_start": MONDAY_9}
    return rotations.LayerSpec(**{**fields, **changes})


@pytest.fixture
def schedule(manager):
    return rotations.schedule_create(
        actor=manager, team=TeamFactory(name="Payments"), name="Primary"
    )


def on_call(schedule: Schedule, at: datetime) -> str | None:
    spec = selectors.schedule_spec(schedule, start=at, end=at)
    user_id = schedules.who_is_on_call(spec, at)
    return None if user_id is None else UserFactory._meta.model.objects.get(pk=user_id).username


def test_a_responder_may_not_create_a_schedule(responder):
    with pytest.raises(PermissionDenied):
        rotations.schedule_create(actor=responder, team=TeamFactory(name="Ops"), name="Primary")


def test_an_unknown_zone_is_refused(manager):
    with pytest.raises(ValidationError) as refused:
        rotations.schedule_create(
            actor=manager, team=TeamFactory(name="Ops"), name="P", time_zone="Mars/Olympus"
        )
    assert "time_zone" in refused.value.message_dict
    assert not Schedule.objects.exists()


def test_a_rotation_needs_someone(manager, schedule):
    with pytest.raises(ValidationError) as refused:
        rotations.layer_create(actor=manager, schedule=schedule, spec=weekly([]))
    assert "participants" in refused.value.message_dict


def test_a_restriction_must_be_times_of_day(manager, schedule):
    bad = weekly([manager], restrictions=[{"start": "25:00", "end": "06:00"}])
    with pytest.raises(ValidationError) as refused:
        rotations.layer_create(actor=manager, schedule=schedule, spec=bad)
    assert "restrictions" in refused.value.message_dict
    assert not ScheduleLayer.objects.exists()


def test_adding_someone_mid_rotation_keeps_the_past_and_changes_the_future(manager, schedule):
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    layer = rotations.layer_create(actor=manager, schedule=schedule, spec=weekly([alice, bob]))
    change = MONDAY_9 + timedelta(weeks=2, days=3)  # in Alice's second week

    rotations.layer_change(
        actor=manager, layer=layer, spec=weekly([carol, alice, bob]), effective_at=change
    )

    assert on_call(schedule, change - timedelta(minutes=1)) == "alice"
    # From the change on, the rotation's week 2 belongs to the new list's third person.
    assert on_call(schedule, change) == "bob"
    assert on_call(schedule, MONDAY_9 + timedelta(weeks=3)) == "carol"
    assert ScheduleLayer.objects.count() == 2


def test_ending_a_layer_puts_nobody_on_call_from_then_on(manager, schedule):
    layer = rotations.layer_create(actor=manager, schedule=schedule, spec=weekly([manager]))
    end = MONDAY_9 + timedelta(days=3)

    rotations.layer_end(actor=manager, layer=layer, effective_at=end)

    assert on_call(schedule, end - timedelta(minutes=1)) == manager.username
    assert on_call(schedule, end) is None


def test_ending_a_layer_again_keeps_its_first_end(manager, schedule):
    layer = rotations.layer_create(actor=manager, schedule=schedule, spec=weekly([manager]))
    end = MONDAY_9 + timedelta(days=3)
    rotations.layer_end(actor=manager, layer=layer, effective_at=end)

    rotations.layer_end(actor=manager, layer=layer, effective_at=end + timedelta(days=1))

    layer.refresh_from_db()
    assert layer.ends_at == end


def test_an_override_must_end_after_it_starts(manager, schedule):
    with pytest.raises(ValidationError):
        rotations.override_create(
            actor=manager, schedule=schedule, user=manager, start=MONDAY_9, end=MONDAY_9
        )
    assert not ScheduleOverride.objects.exists()


def test_a_responder_may_cover_a_shift_on_a_schedule_of_their_team(responder, manager, schedule):
    schedule.team.members.add(responder)
    rotations.layer_create(actor=manager, schedule=schedule, spec=weekly([manager]))

    rotations.override_create(
        actor=responder,
        schedule=schedule,
        user=responder,
        start=MONDAY_9,
        end=MONDAY_9 + timedelta(hours=4),
    )

    assert on_call(schedule, MONDAY_9 + timedelta(hours=1)) == responder.username


def test_a_viewer_cannot_be_put_on_call(manager, viewer, schedule):
    with pytest.raises(ValidationError):
        rotations.override_create(
            actor=manager,
            schedule=schedule,
            user=viewer,
            start=MONDAY_9,
            end=MONDAY_9 + timedelta(hours=1),
        )


def test_a_policy_level_must_page_someone(manager):
    empty = policies.LevelSpec(delay=timedelta(minutes=5), users=[], schedules=[], lead_teams=[])
    with pytest.raises(ValidationError) as refused:
        policies.policy_save(actor=manager, name="Payments", levels=[empty])
    assert "levels" in refused.value.message_dict
    assert not EscalationPolicy.objects.exists()


def test_saving_a_policy_replaces_its_levels(manager, responder):
    level = policies.LevelSpec(
        delay=timedelta(minutes=5), users=[responder], schedules=[], lead_teams=[]
    )
    policy = policies.policy_save(actor=manager, name="Payments", levels=[level, level])

    policies.policy_save(actor=manager, name="Payments", levels=[level], policy=policy)

    assert policy.levels.count() == 1


def test_only_one_policy_is_the_default(manager, responder):
    level = policies.LevelSpec(
        delay=timedelta(minutes=5), users=[responder], schedules=[], lead_teams=[]
    )
    policies.policy_save(actor=manager, name="First", levels=[level], is_default=True)
    policies.policy_save(actor=manager, name="Second", levels=[level], is_default=True)

    assert list(
        EscalationPolicy.objects.filter(is_default=True).values_list("name", flat=True)
    ) == ["Second"]
