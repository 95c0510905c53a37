"""The on-call API: schedules, who is on call when, shifts, overrides, escalation policies."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from oncall.models import ScheduleOverride
from tests.incidents.api_support import API, api_client, assert_problem
from tests.oncall.factories import MONDAYS_NINE_UTC, policy, weekly_schedule

SCHEDULES = f"{API}/schedules/"
POLICIES = f"{API}/escalation-policies/"
HANDOFF = MONDAYS_NINE_UTC


def person(user) -> dict[str, object]:
    return {"id": user.pk, "username": user.username, "name": user.display_name}


def url(schedule, action: str = "") -> str:
    return f"{SCHEDULES}{schedule.pk}/" + (f"{action}/" if action else "")


def test_list_shows_each_schedule_with_its_layers_and_who_is_on_call(viewer, weekly, alice, bob):
    response = api_client(viewer).get(SCHEDULES)

    assert response.status_code == 200
    (body,) = response.json()["results"]
    layer = weekly.layers.get()
    assert body == {
        "id": weekly.pk,
        "name": "Primary",
        "description": "",
        "team": "payments",
        "time_zone": "UTC",
        "layers": [
            {
                "id": layer.pk,
                "name": "Weekly",
                "level": 1,
                "shift_length": "weekly",
                "shift_hours": 24,
                "rotation_start": "2025-01-06T09:00:00Z",
                "time_zone": "UTC",
                "restrictions": [],
                "starts_at": None,
                "ends_at": None,
                "participants": [
                    {"position": 0, "user": person(alice)},
                    {"position": 1, "user": person(bob)},
                ],
            }
        ],
        "on_call_now": body["on_call_now"],
    }
    assert body["on_call_now"] in (person(alice), person(bob))


def test_list_leaves_out_layers_that_have_ended(viewer, weekly):
    weekly.layers.update(ends_at=timezone.now() - timedelta(days=1))

    (body,) = api_client(viewer).get(SCHEDULES).json()["results"]

    assert (body["layers"], body["on_call_now"]) == ([], None)


def test_list_on_call_now_follows_an_override(viewer, weekly, responder):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=timezone.now() - timedelta(hours=1),
        end=timezone.now() + timedelta(hours=1),
    )

    (body,) = api_client(viewer).get(SCHEDULES).json()["results"]

    assert body["on_call_now"] == person(responder)


def test_list_takes_the_same_number_of_queries_for_many_schedules(
    viewer, team, alice, bob, django_assert_max_num_queries
):
    client = api_client(viewer)
    for number in range(6):
        schedule = weekly_schedule([alice, bob], start=HANDOFF, team=team, name=f"S{number}")
        ScheduleOverride.objects.create(
            schedule=schedule,
            user=bob,
            start=timezone.now() - timedelta(hours=1),
            end=timezone.now() + timedelta(hours=1),
        )

    # token, token's last use, count, page, schedules + teams, layers, participants, overrides
    with django_assert_max_num_queries(8):
        response = client.get(SCHEDULES)

    assert [item["on_call_now"] for item in response.json()["results"]] == [person(bob)] * 6


def test_detail_shows_one_schedule(viewer, weekly):
    body = api_client(viewer).get(url(weekly)).json()

    assert (body["id"], body["name"], len(body["layers"])) == (weekly.pk, "Primary", 1)


def test_unknown_schedule_is_404_problem_details(viewer):
    body = assert_problem(api_client(viewer).get(f"{SCHEDULES}999999/"), 404)

    assert body["detail"] == "No such schedule."


def test_schedules_need_credentials(db):
    assert_problem(api_client().get(SCHEDULES), 401)


def test_oncall_answers_who_and_until_when(viewer, weekly, alice):
    response = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-08T12:00:00Z"})

    assert response.status_code == 200
    assert response.json() == {
        "schedule": weekly.pk,
        "at": "2025-01-08T12:00:00Z",
        "user": person(alice),
        "until": "2025-01-13T09:00:00Z",
    }


def test_oncall_at_the_handoff_instant_is_the_incoming_person(viewer, weekly, bob):
    body = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-13T09:00:00Z"}).json()

    assert (body["user"], body["until"]) == (person(bob), "2025-01-20T09:00:00Z")


def test_oncall_reads_an_offset_as_the_instant_it_names(viewer, weekly, bob):
    # 10:30 in Paris is 09:30 UTC, after the handoff.
    body = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-13T10:30:00+01:00"}).json()

    assert body["user"] == person(bob)


def test_oncall_accepts_an_offset_whose_plus_was_not_encoded(viewer, weekly, bob):
    response = api_client(viewer).get(f"{url(weekly, 'oncall')}?at=2025-01-13T10:30:00+01:00")

    assert response.json()["user"] == person(bob)


def test_oncall_until_spans_an_override_that_hands_back_to_the_same_person(
    viewer, weekly, alice, responder
):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=datetime(2025, 1, 9, 0, tzinfo=UTC),
        end=datetime(2025, 1, 10, 0, tzinfo=UTC),
    )

    early = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-08T12:00:00Z"}).json()
    during = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-09T12:00:00Z"}).json()

    assert (early["user"], early["until"]) == (person(alice), "2025-01-09T00:00:00Z")
    assert (during["user"], during["until"]) == (person(responder), "2025-01-10T00:00:00Z")


def test_oncall_before_the_rotation_starts_is_nobody(viewer, weekly):
    body = api_client(viewer).get(url(weekly, "oncall"), {"at": "2024-12-01T00:00:00Z"}).json()

    assert (body["user"], body["until"]) == (None, None)


def test_oncall_defaults_to_now(viewer, weekly):
    before = timezone.now()

    body = api_client(viewer).get(url(weekly, "oncall")).json()

    assert datetime.fromisoformat(body["at"]) >= before
    assert body["user"] is not None


def test_oncall_refuses_a_time_without_an_offset(viewer, weekly):
    response = api_client(viewer).get(url(weekly, "oncall"), {"at": "2025-01-08T12:00:00"})

    body = assert_problem(response, 400)
    assert body["errors"] == {
        "at": ["Give the time with its UTC offset, e.g. 2025-01-06T09:00:00Z."]
    }


def test_oncall_refuses_a_time_that_is_not_a_time(viewer, weekly):
    response = api_client(viewer).get(url(weekly, "oncall"), {"at": "next tuesday"})

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["at"]


def test_oncall_of_an_unknown_schedule_is_404(viewer):
    assert_problem(api_client(viewer).get(f"{SCHEDULES}999999/oncall/"), 404)


def test_shifts_lay_out_the_final_schedule_over_the_window(viewer, weekly, alice, bob):
    response = api_client(viewer).get(
        url(weekly, "shifts"), {"start": "2025-01-10T00:00:00Z", "end": "2025-01-17T00:00:00Z"}
    )

    assert response.status_code == 200
    layer = weekly.layers.get()
    assert response.json() == {
        "schedule": weekly.pk,
        "start": "2025-01-10T00:00:00Z",
        "end": "2025-01-17T00:00:00Z",
        "shifts": [
            {
                "user": person(alice),
                "start": "2025-01-10T00:00:00Z",
                "end": "2025-01-13T09:00:00Z",
                "layer": layer.pk,
                "override": None,
            },
            {
                "user": person(bob),
                "start": "2025-01-13T09:00:00Z",
                "end": "2025-01-17T00:00:00Z",
                "layer": layer.pk,
                "override": None,
            },
        ],
    }


def test_shifts_name_the_override_that_put_someone_on_call(viewer, weekly, responder):
    override = ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        start=datetime(2025, 1, 11, tzinfo=UTC),
        end=datetime(2025, 1, 12, tzinfo=UTC),
    )

    shifts = (
        api_client(viewer)
        .get(url(weekly, "shifts"), {"start": "2025-01-10T00:00:00Z", "end": "2025-01-13T00:00Z"})
        .json()["shifts"]
    )

    assert [(s["user"]["username"], s["layer"], s["override"]) for s in shifts] == [
        ("alice", weekly.layers.get().pk, None),
        ("rosa", None, override.pk),
        ("alice", weekly.layers.get().pk, None),
    ]


def test_shifts_refuse_a_window_over_90_days(viewer, weekly):
    response = api_client(viewer).get(
        url(weekly, "shifts"), {"start": "2025-01-01T00:00:00Z", "end": "2025-04-02T00:00:00Z"}
    )

    body = assert_problem(response, 400)
    assert body["errors"] == {"end": ["Ask for at most 90 days at a time."]}


def test_shifts_refuse_a_window_that_ends_before_it_starts(viewer, weekly):
    response = api_client(viewer).get(
        url(weekly, "shifts"), {"start": "2025-01-10T00:00:00Z", "end": "2025-01-09T00:00:00Z"}
    )

    body = assert_problem(response, 400)
    assert list(body["errors"]) == ["end"]


def test_shifts_refuse_times_without_an_offset(viewer, weekly):
    response = api_client(viewer).get(url(weekly, "shifts"), {"start": "2025-01-10T00:00:00"})

    assert list(assert_problem(response, 400)["errors"]) == ["start"]


def test_shifts_default_to_the_next_two_weeks(viewer, weekly):
    body = api_client(viewer).get(url(weekly, "shifts")).json()

    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert end - start == timedelta(days=14)
    assert body["shifts"][0]["start"] == body["start"]


def test_responder_adds_an_override(teammate, weekly, alice):
    response = api_client(teammate).post(
        url(weekly, "overrides"),
        {"user": "alice", "start": "2025-01-14T00:00:00Z", "end": "2025-01-15T00:00:00Z"},
    )

    assert response.status_code == 201, response.content
    override = ScheduleOverride.objects.get()
    assert response.json() == {
        "id": override.pk,
        "schedule": weekly.pk,
        "user": person(alice),
        "start": "2025-01-14T00:00:00Z",
        "end": "2025-01-15T00:00:00Z",
        "note": "",
        "created_by": person(teammate),
        "created_at": response.json()["created_at"],
    }


def test_override_shows_in_who_is_on_call(teammate, weekly, alice):
    client = api_client(teammate)
    client.post(
        url(weekly, "overrides"),
        {"user": "alice", "start": "2025-01-14T00:00:00Z", "end": "2025-01-15T00:00:00Z"},
    )

    body = client.get(url(weekly, "oncall"), {"at": "2025-01-14T12:00:00Z"}).json()

    assert body["user"] == person(alice)


def test_viewer_may_not_add_an_override(viewer, weekly):
    response = api_client(viewer).post(
        url(weekly, "overrides"),
        {"user": "alice", "start": "2025-01-14T00:00:00Z", "end": "2025-01-15T00:00:00Z"},
    )

    assert_problem(response, 403)
    assert not ScheduleOverride.objects.exists()


def test_override_over_90_days_is_refused_and_nothing_is_written(teammate, weekly, alice):
    response = api_client(teammate).post(
        url(weekly, "overrides"),
        {"user": "alice", "start": "2025-01-01T00:00:00Z", "end": "2025-04-02T00:00:00Z"},
    )

    body = assert_problem(response, 400)
    assert body["errors"] == {"end": ["An override lasts at most 90 days."]}
    assert not ScheduleOverride.objects.exists()


def test_override_ending_before_it_starts_is_refused(teammate, weekly, alice):
    response = api_client(teammate).post(
        url(weekly, "overrides"),
        {"user": "alice", "start": "2025-01-15T00:00:00Z", "end": "2025-01-14T00:00:00Z"},
    )

    assert list(assert_problem(response, 400)["errors"]) == ["end"]
    assert not ScheduleOverride.objects.exists()


def test_override_refuses_unknown_users_fields_and_local_times(responder, weekly):
    response = api_client(responder).post(
        url(weekly, "overrides"),
        {
            "user": "nobody",
            "start": "2025-01-14T00:00:00",
            "end": "2025-01-15T00:00:00Z",
            "colour": "red",
        },
    )

    body = assert_problem(response, 400)
    assert body["errors"] == {
        "user": ["Unknown user nobody."],
        "start": ["Give the time with its UTC offset, e.g. 2025-01-06T09:00:00Z."],
        "colour": ["Unknown field."],
    }
    assert not ScheduleOverride.objects.exists()


def test_override_on_an_unknown_schedule_is_404(responder, alice):
    response = api_client(responder).post(
        f"{SCHEDULES}999999/overrides/",
        {"user": "alice", "start": "2025-01-14T00:00:00Z", "end": "2025-01-15T00:00:00Z"},
    )

    assert_problem(response, 404)


def test_policies_list_their_levels_and_targets(viewer, weekly, team, alice):
    made = policy((5, [weekly]), (10, [team, alice]), name="Payments", repeat=2)
    made.team = team
    made.save()

    (body,) = api_client(viewer).get(POLICIES).json()["results"]

    assert body == {
        "id": made.pk,
        "name": "Payments",
        "description": "",
        "team": "payments",
        "repeat": 2,
        "is_default": True,
        "levels": [
            {
                "position": 1,
                "delay": 300,
                "management": False,
                "targets": [
                    {"kind": "schedule", "user": None, "schedule": weekly.pk, "team": None}
                ],
            },
            {
                "position": 2,
                "delay": 600,
                "management": False,
                "targets": [
                    {"kind": "team_leads", "user": None, "schedule": None, "team": "payments"},
                    {"kind": "user", "user": person(alice), "schedule": None, "team": None},
                ],
            },
        ],
    }


def test_policies_list_takes_the_same_number_of_queries_for_many_policies(
    viewer, weekly, team, alice, django_assert_max_num_queries
):
    client = api_client(viewer)
    for number in range(5):
        policy((5, [weekly, alice]), (10, [team]), name=f"P{number}", default=False)

    # token, token's last use, count, policies + teams, levels, targets + users + teams
    with django_assert_max_num_queries(6):
        response = client.get(POLICIES)

    assert len(response.json()["results"]) == 5
