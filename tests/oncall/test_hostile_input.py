"""Hostile input to the on-call API, forms and feeds (findings 1, 3 and 7 of issue 9): times
outside the window of schedules (from 2000, at most three years ahead), text PostgreSQL cannot
store and names that are no zone get a 4xx or a form error; nothing is written."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from oncall.services import rotations
from tests.factories import UserFactory
from tests.incidents.api_support import API, api_client, assert_problem

NUL = "\x00"
SURROGATE = "\ud800"
EDGES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00%2B14:00",
    "1999-12-31T23:59:59Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("at", ["", *EDGES, "2200-01-01T00:00:00Z", "%00"])
def test_who_is_on_call_at_an_impossible_or_empty_time_is_a_400(viewer, weekly, at):
    response = api_client(viewer).get(f"{API}/schedules/{weekly.pk}/oncall/?at={at}")

    assert list(assert_problem(response, 400)["errors"]) == ["at"]


@pytest.mark.parametrize("name", ["start", "end"])
@pytest.mark.parametrize("value", ["", *EDGES])
def test_shifts_over_an_impossible_or_empty_window_are_a_400(viewer, weekly, name, value):
    response = api_client(viewer).get(f"{API}/schedules/{weekly.pk}/shifts/?{name}={value}")

    assert name in assert_problem(response, 400)["errors"]


def test_who_is_on_call_next_year_is_answered(viewer, weekly):
    at = (timezone.now() + timedelta(days=365)).isoformat().replace("+", "%2B")

    response = api_client(viewer).get(f"{API}/schedules/{weekly.pk}/oncall/?at={at}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "span",
    [
        ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"),
        ("9999-12-30T00:00:00Z", "9999-12-31T00:00:00Z"),
        ("1999-12-31T00:00:00Z", "2000-01-02T00:00:00Z"),
    ],
)
def test_an_override_at_an_impossible_time_is_refused_by_the_api(responder, weekly, span):
    body = {"user": responder.username, "start": span[0], "end": span[1]}

    response = api_client(responder).post(f"{API}/schedules/{weekly.pk}/overrides/", body)

    assert assert_problem(response, 400)["errors"]
    assert not ScheduleOverride.objects.exists()


@pytest.mark.parametrize(("name", "bad"), [("user", NUL), ("user", SURROGATE), ("note", NUL)])
def test_an_override_with_unstorable_text_is_refused_by_the_api(responder, weekly, name, bad):
    body = {"user": responder.username, "start": "2030-01-01T00:00:00Z", **{name: bad}}
    body.setdefault("end", "2030-01-02T00:00:00Z")

    response = api_client(responder).post(
        f"{API}/schedules/{weekly.pk}/overrides/", json.dumps(body), content_type="application/json"
    )

    assert list(assert_problem(response, 400)["errors"]) == [name]
    assert not ScheduleOverride.objects.exists()


@pytest.mark.parametrize(
    "span",
    [("0001-01-01T00:00", "0001-01-02T00:00"), ("9999-12-31T00:00", "9999-12-31T23:59")],
)
@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", ""])
def test_the_override_form_refuses_an_impossible_time_with_a_form_error(team, weekly, span, zone):
    person = UserFactory(username="pat", role=Role.RESPONDER, timezone=zone)
    team.members.add(person)
    form = {"user": str(person.pk), "start": span[0], "end": span[1], "note": ""}

    response = signed_in(person).post(f"/schedules/{weekly.pk}/overrides/new", form)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert not ScheduleOverride.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00%2B14:00&end=0001-01-02T00:00:00Z",
        "start=9999-12-31T23:00:00-12:00",
    ],
)
def test_an_override_link_at_an_impossible_time_opens_an_empty_form(teammate, weekly, query):
    responder = teammate
    responder.timezone = "America/Los_Angeles"
    responder.save(update_fields=["timezone"])

    response = signed_in(responder).get(f"/schedules/{weekly.pk}/overrides/new?{query}")

    assert response.status_code == 200
    assert response.context["form"].initial["start"] is None


def layer_form(person, **fields):
    form = {
        "name": "Primary rotation",
        "participants": [str(person.pk)],
        "shift_length": "weekly",
        "shift_hours": "",
        "rotation_start": "2025-01-06T09:00",
        "time_zone": "Asia/Tokyo",
        "level": "1",
    }
    form.update(fields)
    return form


@pytest.mark.parametrize("start", ["0001-01-01T00:00", "1999-06-01T00:00", "9999-12-31T23:00"])
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_the_layer_form_refuses_an_impossible_first_handoff(manager, weekly, alice, start, zone):
    layers = ScheduleLayer.objects.count()
    form = layer_form(alice, rotation_start=start, time_zone=zone)

    response = signed_in(manager).post(f"/schedules/{weekly.pk}/layers/new", form)

    assert response.status_code == 400
    assert "rotation_start" in response.context["form"].errors
    assert ScheduleLayer.objects.count() == layers


def test_the_layer_form_refuses_an_impossible_change_date(manager, weekly, alice):
    layer = weekly.layers.get()
    form = layer_form(alice, effective_at="9999-12-31T23:00")

    response = signed_in(manager).post(f"/schedules/{weekly.pk}/layers/{layer.pk}/edit", form)

    assert response.status_code == 400
    assert "effective_at" in response.context["form"].errors
    assert ScheduleLayer.objects.count() == 1


@pytest.mark.parametrize("zone", ["America", "a" * 300, "Europe/London" + NUL, "zone.tab"])
def test_the_schedule_services_refuse_a_name_that_is_no_zone(manager, team, alice, zone):
    schedule = Schedule.objects.create(team=team, name="Primary")
    spec = rotations.LayerSpec(
        name="Weekly",
        participants=[alice],
        rotation_start=datetime(2025, 1, 6, 9, tzinfo=UTC),
        time_zone=zone,
    )

    with pytest.raises(ValidationError) as caught:
        rotations.layer_create(actor=manager, schedule=schedule, spec=spec)

    assert list(caught.value.message_dict) == ["time_zone"]


@pytest.mark.parametrize("when", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)])
def test_the_override_service_refuses_an_impossible_time(teammate, weekly, when):
    responder = teammate
    with pytest.raises(ValidationError):
        rotations.override_create(
            actor=responder,
            schedule=weekly,
            user=responder,
            start=when,
            end=when + timedelta(hours=1),
        )


@pytest.mark.parametrize("kind", ["users", "schedules"])
@pytest.mark.parametrize("token", ["%00", "%00abc", "a%00", "%C3%A9"])
def test_a_calendar_feed_address_that_cannot_be_a_token_is_a_404(db, kind, token):
    response = Client().get(f"/oncall/{kind}/{token}.ics")

    assert response.status_code == 404
