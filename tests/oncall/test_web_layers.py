"""A schedule's layers: adding a rotation, its restriction windows, changing and ending it."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from oncall import selectors
from oncall.models import (
    Schedule,
    ScheduleLayer,
)
from tests.oncall.factories import MONDAYS_NINE_UTC
from tests.oncall.pages import CONFIRMED, signed_in

# A Monday: the weekly rotation below hands off every Monday at 09:00 UTC.
HANDOFF = MONDAYS_NINE_UTC


def layer_form(**fields):
    form = {
        "name": "Primary rotation",
        "participants": [],
        "shift_length": "weekly",
        "shift_hours": "",
        "rotation_start": "2025-01-06T09:00",
        "time_zone": "Europe/Paris",
        "level": "1",
    }
    form.update(fields)
    return form


def test_manager_adds_a_layer_with_people_in_the_order_chosen(client, manager, team, alice, bob):
    schedule = Schedule.objects.create(team=team, name="Primary")

    response = signed_in(client, manager).post(
        f"/schedules/{schedule.pk}/layers/new",
        layer_form(participants=[str(bob.pk), "", str(alice.pk)]),
    )

    assert response.status_code == 302
    layer = schedule.layers.get()
    order = list(layer.participants.order_by("position").values_list("user__username", flat=True))
    assert order == ["bob", "alice"]
    assert layer.time_zone == "Europe/Paris"
    # 09:00 in Paris in January is 08:00 UTC.
    assert layer.rotation_start == datetime(2025, 1, 6, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"participants": ["", ""]},
            "participants",
            "A rotation needs at least one person.",
            id="nobody",
        ),
        pytest.param(
            {"time_zone": "Europe/Atlantis"},
            "time_zone",
            "Unknown time zone Europe/Atlantis.",
            id="unknown zone",
        ),
        pytest.param(
            {"rotation_start": "2025-03-30T02:30"},
            "rotation_start",
            "Clocks in Europe/Paris skip this time; choose another.",
            id="a handoff the clocks skip",
        ),
        pytest.param(
            {"shift_length": "hours", "shift_hours": ""},
            "shift_hours",
            "Say how many hours a shift lasts.",
            id="n hours without n",
        ),
    ],
)
def test_layer_form_rejects_and_writes_nothing(
    client, manager, team, alice, changes, field, message
):
    schedule = Schedule.objects.create(team=team, name="Primary")

    response = signed_in(client, manager).post(
        f"/schedules/{schedule.pk}/layers/new",
        layer_form(**{"participants": [str(alice.pk)], **changes}),
    )

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not ScheduleLayer.objects.exists()


def test_layer_form_saves_restriction_windows(client, manager, team, alice):
    schedule = Schedule.objects.create(team=team, name="Primary")

    signed_in(client, manager).post(
        f"/schedules/{schedule.pk}/layers/new",
        layer_form(
            participants=[str(alice.pk)],
            restriction_1_days=["0", "1", "2", "3", "4"],
            restriction_1_start="09:00",
            restriction_1_end="17:00",
            restriction_2_start="22:00",
            restriction_2_end="06:00",
        ),
    )

    assert schedule.layers.get().restrictions == [
        {"start": "09:00", "end": "17:00", "weekdays": [0, 1, 2, 3, 4]},
        {"start": "22:00", "end": "06:00", "weekdays": []},
    ]


def test_layer_form_rejects_a_window_with_one_end_and_writes_nothing(client, manager, team, alice):
    schedule = Schedule.objects.create(team=team, name="Primary")

    response = signed_in(client, manager).post(
        f"/schedules/{schedule.pk}/layers/new",
        layer_form(participants=[str(alice.pk)], restriction_1_start="09:00"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["restriction_1_end"] == ["Give both ends of the window."]
    assert not ScheduleLayer.objects.exists()


def test_responder_may_not_add_a_layer(client, responder, team, alice):
    schedule = Schedule.objects.create(team=team, name="Primary")

    client = signed_in(client, responder)
    opened = client.get(f"/schedules/{schedule.pk}/layers/new")
    posted = client.post(
        f"/schedules/{schedule.pk}/layers/new", layer_form(participants=[str(alice.pk)])
    )

    assert (opened.status_code, posted.status_code) == (403, 403)
    assert not ScheduleLayer.objects.exists()


def test_responder_may_not_change_or_end_a_layer(client, responder, weekly, alice):
    layer = weekly.layers.get()

    client = signed_in(client, responder)
    changed = client.post(
        f"/schedules/{weekly.pk}/layers/{layer.pk}/edit", layer_form(participants=[str(alice.pk)])
    )
    ended = client.post(f"/schedules/{weekly.pk}/layers/{layer.pk}/end")

    assert (changed.status_code, ended.status_code) == (403, 403)
    layer.refresh_from_db()
    assert layer.ends_at is None
    assert ScheduleLayer.objects.count() == 1


def test_changing_a_layer_ends_the_old_rotation_and_starts_the_new_one(
    client, manager, weekly, alice, bob
):
    layer = weekly.layers.get()

    response = signed_in(client, manager).post(
        f"/schedules/{weekly.pk}/layers/{layer.pk}/edit",
        layer_form(participants=[str(bob.pk)], time_zone="UTC", name="Weekly"),
    )

    assert response.status_code == 302
    layer.refresh_from_db()
    assert layer.ends_at is not None
    new = ScheduleLayer.objects.exclude(pk=layer.pk).get()
    assert new.starts_at == layer.ends_at
    assert list(new.participants.values_list("user__username", flat=True)) == ["bob"]


def test_change_form_shows_the_layer_as_it_is(client, manager, weekly):
    layer = weekly.layers.get()

    html = signed_in(client, manager).get(f"/schedules/{weekly.pk}/layers/{layer.pk}/edit")

    form = html.context["form"]
    assert form.participant_slots()[:3] == [
        p.user_id for p in layer.participants.order_by("position")
    ] + [None]
    # A wall time in the layer's zone, as the datetime-local input shows it.
    assert form["rotation_start"].value() == datetime(2025, 1, 6, 9, tzinfo=UTC).replace(
        tzinfo=None
    )


def test_change_form_refuses_a_change_in_the_past(client, manager, weekly, alice):
    layer = weekly.layers.get()

    response = signed_in(client, manager).post(
        f"/schedules/{weekly.pk}/layers/{layer.pk}/edit",
        layer_form(participants=[str(alice.pk)], effective_at="2025-02-01T00:00"),
    )

    assert response.status_code == 400
    assert "effective_at" in response.context["form"].errors
    assert ScheduleLayer.objects.count() == 1


def test_manager_ends_a_layer(client, manager, weekly):
    layer = weekly.layers.get()

    signed_in(client, manager).post(f"/schedules/{weekly.pk}/layers/{layer.pk}/end", CONFIRMED)

    layer.refresh_from_db()
    assert layer.ends_at is not None
    assert layer.ends_at <= timezone.now()


def test_ending_a_layer_asks_first_and_ends_nothing(client, manager, weekly):
    layer = weekly.layers.get()

    response = signed_in(client, manager).post(f"/schedules/{weekly.pk}/layers/{layer.pk}/end")

    layer.refresh_from_db()
    assert response.status_code == 200
    assert f"End the layer {layer.name} of Primary?" in response.content.decode()
    assert layer.ends_at is None


def test_layer_of_another_schedule_is_404(client, manager, weekly, team):
    other = Schedule.objects.create(team=team, name="Other")
    layer = weekly.layers.get()

    response = signed_in(client, manager).post(f"/schedules/{other.pk}/layers/{layer.pk}/end")

    assert response.status_code == 404


def wall(*fields: int) -> datetime:
    """A wall time as the datetime-local input holds it."""
    return datetime(*fields, tzinfo=UTC).replace(tzinfo=None)


def test_a_new_schedule_s_first_rotation_starts_at_the_handoff_just_passed(
    client, manager, team, alice, clock
):
    # clock: Sunday 1 March 2026, 09:00 UTC (10:00 in Paris).
    schedule = Schedule.objects.create(team=team, name="Primary", time_zone="Europe/Paris")
    page = signed_in(client, manager).get(f"/schedules/{schedule.pk}/layers/new")
    start = page.context["form"]["rotation_start"].value()
    assert start == wall(2026, 2, 23, 9)

    response = signed_in(client, manager).post(
        f"/schedules/{schedule.pk}/layers/new",
        layer_form(participants=[str(alice.pk)], rotation_start=start.isoformat()),
    )

    assert response.status_code == 302
    assert selectors.schedule_on_call_user_id(schedule, at=timezone.now()) == alice.pk


def test_the_first_rotation_on_a_monday_morning_starts_the_week_before(
    client, manager, team, clock
):
    clock.now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Paris
    schedule = Schedule.objects.create(team=team, name="Primary", time_zone="Europe/Paris")

    page = signed_in(client, manager).get(f"/schedules/{schedule.pk}/layers/new")

    assert page.context["form"]["rotation_start"].value() == wall(2026, 2, 23, 9)


def test_a_further_layer_starts_at_the_next_handoff(client, manager, weekly, clock):
    page = signed_in(client, manager).get(f"/schedules/{weekly.pk}/layers/new")

    assert page.context["form"]["rotation_start"].value() == wall(2026, 3, 2, 9)
