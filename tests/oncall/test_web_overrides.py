"""Overrides: adding one, "take this shift" and "cover for me", removing one, the list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Role
from oncall.models import (
    ScheduleOverride,
)
from oncall.services import rotations
from tests.factories import UserFactory
from tests.oncall.factories import MONDAYS_NINE_UTC, weekly_schedule
from tests.oncall.pages import CONFIRMED, page, signed_in

# A Monday: the weekly rotation below hands off every Monday at 09:00 UTC.
HANDOFF = MONDAYS_NINE_UTC


def override_form(user, **fields):
    form = {
        "user": str(user.pk),
        "start": "2025-01-08T09:00",
        "end": "2025-01-09T09:00",
        "note": "",
    }
    form.update(fields)
    return form


def test_responder_adds_an_override_and_sees_its_week(client, teammate, weekly):
    response = signed_in(client, teammate).post(
        f"/schedules/{weekly.pk}/overrides/new", override_form(teammate)
    )

    override = ScheduleOverride.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/schedules/{weekly.pk}/?start=2025-01-06"
    assert (override.user, override.created_by) == (teammate, teammate)
    assert override.start == datetime(2025, 1, 8, 9, tzinfo=UTC)


def test_override_times_are_read_in_the_viewers_zone(client, weekly, team):
    paris = UserFactory(username="pierre", role=Role.RESPONDER, timezone="Europe/Paris")
    team.members.add(paris)

    signed_in(client, paris).post(f"/schedules/{weekly.pk}/overrides/new", override_form(paris))

    assert ScheduleOverride.objects.get().start == datetime(2025, 1, 8, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2025-01-09T09:00", "2025-01-08T09:00", "The override must end after it starts."),
        ("2025-01-01T00:00", "2025-04-02T00:00", "An override lasts at most 90 days."),
    ],
    ids=["ends before it starts", "more than 90 days"],
)
def test_override_form_rejects_a_bad_span_and_writes_nothing(
    client, teammate, weekly, start, end, error
):
    response = signed_in(client, teammate).post(
        f"/schedules/{weekly.pk}/overrides/new", override_form(teammate, start=start, end=end)
    )

    assert response.status_code == 400
    assert response.context["form"].errors["end"] == [error]
    assert not ScheduleOverride.objects.exists()


def test_override_form_refuses_a_viewer_as_the_person_on_call(client, teammate, viewer, weekly):
    response = signed_in(client, teammate).post(
        f"/schedules/{weekly.pk}/overrides/new", override_form(viewer)
    )

    assert response.status_code == 400
    assert "user" in response.context["form"].errors
    assert not ScheduleOverride.objects.exists()


def test_viewer_may_not_add_an_override(client, viewer, responder, weekly):
    client = signed_in(client, viewer)
    opened = client.get(f"/schedules/{weekly.pk}/overrides/new")
    posted = client.post(f"/schedules/{weekly.pk}/overrides/new", override_form(responder))

    assert (opened.status_code, posted.status_code) == (403, 403)
    assert not ScheduleOverride.objects.exists()


def test_take_this_shift_prefills_the_form_with_the_shift_and_you(client, teammate, weekly):
    response = signed_in(client, teammate).get(
        f"/schedules/{weekly.pk}/overrides/new",
        {
            "start": "2025-01-13T09:00:00+00:00",
            "end": "2025-01-20T09:00:00+00:00",
            "user": str(teammate.pk),
        },
    )

    html = response.content.decode()
    assert 'value="2025-01-13T09:00"' in html
    assert 'value="2025-01-20T09:00"' in html
    assert f'<option value="{teammate.pk}" selected>' in html


def test_cover_for_me_offers_your_next_shift_for_someone_else_to_take(
    client, team, responder, alice
):
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=2)
    schedule = weekly_schedule([responder, alice], start=start, team=team)

    html = signed_in(client, responder).get(page(schedule)).content.decode()
    cover = re.search(r'href="([^"]+)" id="cover-for-me"', html)
    assert cover is not None
    form_html = client.get(cover[1].replace("&amp;", "&")).content.decode()

    local = timezone.localtime(start)
    assert f'value="{local:%Y-%m-%dT%H:%M}"' in form_html
    assert f'value="{local + timedelta(days=7):%Y-%m-%dT%H:%M}"' in form_html
    assert "Covering for Rosa Responder" in form_html
    assert '<option value="" selected>Choose someone</option>' in form_html


def test_author_removes_their_override(client, responder, weekly):
    override = ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        created_by=responder,
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=2),
    )

    signed_in(client, responder).post(
        f"/schedules/{weekly.pk}/overrides/{override.pk}/delete", CONFIRMED
    )

    assert not ScheduleOverride.objects.exists()


def test_removing_an_override_asks_first_and_removes_nothing(client, responder, weekly):
    override = ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        created_by=responder,
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=2),
    )

    response = signed_in(client, responder).post(
        f"/schedules/{weekly.pk}/overrides/{override.pk}/delete"
    )

    assert response.status_code == 200
    assert f"Remove the override of {responder.display_name}?" in response.content.decode()
    assert ScheduleOverride.objects.exists()


def test_another_responder_may_not_remove_an_override(client, responder, outsider, weekly):
    override = ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        created_by=responder,
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=2),
    )

    response = signed_in(client, outsider).post(
        f"/schedules/{weekly.pk}/overrides/{override.pk}/delete"
    )

    assert response.status_code == 403
    assert ScheduleOverride.objects.exists()


def test_upcoming_overrides_are_listed_with_who_added_them(client, viewer, responder, weekly):
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        created_by=responder,
        note="Swapped with Alice",
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=2),
    )

    html = signed_in(client, viewer).get(page(weekly)).content.decode()

    overrides = re.search(r'id="overrides-title".*?</section>', html, re.S)
    assert overrides is not None
    assert "Swapped with Alice" in overrides[0]
    assert "by Rosa Responder" in overrides[0]
    assert "Remove" not in overrides[0]  # a viewer may not


@pytest.mark.parametrize("person", ["responder", "manager", "admin_user", "outsider", "viewer"])
def test_remove_is_offered_to_exactly_those_who_may_remove(
    client, request, responder, weekly, person
):
    # The author (Rosa), a manager or an admin: the page and the service apply one rule.
    override = ScheduleOverride.objects.create(
        schedule=weekly,
        user=responder,
        created_by=responder,
        start=timezone.now() + timedelta(days=1),
        end=timezone.now() + timedelta(days=2),
    )
    user = request.getfixturevalue(person)

    html = signed_in(client, user).get(page(weekly)).content.decode()
    overrides = re.search(r'id="overrides-title".*?</section>', html, re.S)
    assert overrides is not None
    offered = "Remove" in overrides[0]
    try:
        rotations.override_delete(actor=user, override=override)
    except PermissionDenied:
        removed = False
    else:
        removed = True

    may = person in ("responder", "manager", "admin_user")
    assert (offered, removed) == (may, may)
