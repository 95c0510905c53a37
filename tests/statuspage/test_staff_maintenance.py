"""/status/manage/maintenance/<code>/: managers reschedule or edit a maintenance (only extend
it once started) and post updates on it; bad input is a 400 with the reason, writing
nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse

from statuspage import tasks
from statuspage.models import Maintenance, MaintenanceStatus, MaintenanceUpdate, TimerKind
from statuspage.models_subscribers import SubscriberNotification
from statuspage.services.maintenance import maintenance_schedule
from tests.statuspage.factories import component
from tests.statuspage.subscriptions_fixtures import email_subscriber

FORMAT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def managing(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def window(clock, api, manager):
    return maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="Brief slowness.",
        scheduled_for=clock.now + timedelta(hours=2),
        scheduled_until=clock.now + timedelta(hours=3),
        components=[component(api)],
    )


def form(window, **changes):
    return {
        "name": window.name,
        "message": window.message,
        "scheduled_for": window.scheduled_for.strftime(FORMAT),
        "scheduled_until": window.scheduled_until.strftime(FORMAT),
        "components": [c.pk for c in window.components.all()],
        **changes,
    }


def edit_url(window) -> str:
    return reverse("statuspage:maintenance-edit", args=[window.code])


def test_the_manage_page_links_to_each_open_maintenance(managing, window):
    assert edit_url(window) in managing.get(reverse("statuspage:manage")).content.decode()


def test_the_edit_page_shows_the_window(managing, window):
    response = managing.get(edit_url(window))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'value="{window.scheduled_for.strftime(FORMAT)}"' in body
    assert "Post an update" in body


def test_rescheduling_from_the_page(managing, window, clock):
    later = clock.now + timedelta(days=1)
    data = form(
        window,
        scheduled_for=later.strftime(FORMAT),
        scheduled_until=(later + timedelta(hours=1)).strftime(FORMAT),
    )
    response = managing.post(edit_url(window), data)
    assert response.status_code == 302
    assert window.timers.get(kind=TimerKind.START).due_at == later


def test_a_bad_window_is_a_400_and_changes_nothing(managing, window):
    data = form(window, scheduled_until=window.scheduled_for.strftime(FORMAT))
    response = managing.post(edit_url(window), data)
    assert response.status_code == 400
    assert "must end after it starts" in response.content.decode()
    moved = Maintenance.objects.get()
    assert moved.scheduled_until == window.scheduled_until
    assert moved.updates.count() == 1


def test_once_started_the_end_alone_is_posted_and_taken(managing, window):
    # As a browser posts the form shown after the start: its disabled fields are left out.
    tasks.tick(now=window.scheduled_for)
    later_end = window.scheduled_until + timedelta(hours=1)
    response = managing.post(edit_url(window), {"scheduled_until": later_end.strftime(FORMAT)})
    assert response.status_code == 302
    extended = Maintenance.objects.get()
    assert (extended.name, extended.scheduled_for, extended.scheduled_until) == (
        "Upgrade",
        window.scheduled_for,
        later_end,
    )


def test_a_form_shown_before_the_start_may_still_extend_the_window(managing, window):
    Maintenance.objects.filter(pk=window.pk).update(message="Brief slowness.\nThen none.")
    assert managing.get(edit_url(window)).status_code == 200
    tasks.tick(now=window.scheduled_for)
    later_end = window.scheduled_until + timedelta(hours=1)
    # The message comes back unchanged, its line break as a browser sends it.
    data = form(
        window,
        message="Brief slowness.\r\nThen none.",
        scheduled_until=later_end.strftime(FORMAT),
    )
    response = managing.post(edit_url(window), data)
    assert response.status_code == 302
    assert Maintenance.objects.get().scheduled_until == later_end


@pytest.mark.parametrize("field", ["name", "message", "scheduled_for", "components"])
def test_a_form_shown_before_the_start_changing_more_than_the_end_is_a_400(
    managing, window, web, field
):
    # The edit page was opened before the start, and is sent after it.
    assert managing.get(edit_url(window)).status_code == 200
    tasks.tick(now=window.scheduled_for)
    changed = {
        "name": "Renamed",
        "message": "Longer than planned.",
        "scheduled_for": (window.scheduled_for + timedelta(hours=5)).strftime(FORMAT),
        "components": [component(web).pk],
    }[field]
    later_end = window.scheduled_until + timedelta(hours=1)
    data = form(window, scheduled_until=later_end.strftime(FORMAT), **{field: changed})
    updates = MaintenanceUpdate.objects.count()

    response = managing.post(edit_url(window), data)

    assert response.status_code == 400
    assert "The window has started; only its end can change." in response.content.decode()
    unchanged = Maintenance.objects.get()
    assert (
        unchanged.name,
        unchanged.message,
        unchanged.scheduled_for,
        unchanged.scheduled_until,
        list(unchanged.components.all()),
    ) == (
        window.name,
        window.message,
        window.scheduled_for,
        window.scheduled_until,
        list(window.components.all()),
    )
    assert MaintenanceUpdate.objects.count() == updates


def test_once_started_ending_earlier_is_a_400(managing, window):
    tasks.tick(now=window.scheduled_for)
    earlier = window.scheduled_until - timedelta(minutes=30)
    response = managing.post(
        edit_url(window), form(window, scheduled_until=earlier.strftime(FORMAT))
    )
    assert response.status_code == 400
    assert "can only end later" in response.content.decode()
    assert Maintenance.objects.get().scheduled_until == window.scheduled_until


def test_a_maintenance_that_is_over_is_a_400(managing, window):
    tasks.tick(now=window.scheduled_for)
    tasks.tick(now=window.scheduled_until)
    response = managing.post(edit_url(window), form(window))
    assert response.status_code == 400
    assert "can no longer be changed" in response.content.decode()


def test_posting_an_update_from_the_page(managing, window):
    tasks.tick(now=window.scheduled_for)
    response = managing.post(
        reverse("statuspage:maintenance-update", args=[window.code]),
        {"body": "Half done."},
    )
    assert response.status_code == 302
    latest = MaintenanceUpdate.objects.filter(maintenance=window).order_by("-id").first()
    assert latest is not None
    assert (latest.status, latest.body) == (MaintenanceStatus.IN_PROGRESS, "Half done.")


def test_a_blank_update_is_a_400_and_posts_nothing(managing, window):
    response = managing.post(
        reverse("statuspage:maintenance-update", args=[window.code]), {"body": " "}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert MaintenanceUpdate.objects.filter(maintenance=window).count() == 1


def test_an_update_past_10000_characters_is_a_400_and_posts_nothing(managing, window):
    response = managing.post(
        reverse("statuspage:maintenance-update", args=[window.code]), {"body": "x" * 10_001}
    )
    assert response.status_code == 400
    assert "at most 10000 characters" in response.content.decode()
    assert MaintenanceUpdate.objects.filter(maintenance=window).count() == 1


def test_responders_may_not_edit(client, responder, window):
    client.force_login(responder)
    assert client.get(edit_url(window)).status_code == 403
    assert client.post(edit_url(window), form(window, name="x")).status_code == 403
    assert (
        client.post(
            reverse("statuspage:maintenance-update", args=[window.code]), {"body": "x"}
        ).status_code
        == 403
    )
    assert Maintenance.objects.get().name == "Upgrade"


@pytest.mark.parametrize(
    "field,value",
    [
        ("scheduled_for", "0001-01-01T00:00"),
        ("scheduled_until", "9999-12-31T23:59"),
        ("scheduled_for", "9999-12-31T20:00"),
    ],
)
def test_a_time_out_of_range_is_a_400_and_changes_nothing(managing, window, field, value):
    response = managing.post(edit_url(window), form(window, **{field: value}))
    assert response.status_code == 400
    assert "Give a time" in response.content.decode()
    unchanged = Maintenance.objects.get()
    assert (unchanged.scheduled_for, unchanged.scheduled_until) == (
        window.scheduled_for,
        window.scheduled_until,
    )
    assert unchanged.updates.count() == 1


def test_rescheduling_years_ahead_is_a_400(managing, window):
    data = form(window, scheduled_for="9999-12-31T20:00", scheduled_until="9999-12-31T23:00")
    response = managing.post(edit_url(window), data)
    assert response.status_code == 400
    assert Maintenance.objects.get().scheduled_for == window.scheduled_for


@pytest.mark.parametrize(
    "field,value", [("scheduled_for", "0001-01-01T00:00"), ("scheduled_until", "9999-12-31T23:59")]
)
def test_scheduling_a_time_out_of_range_is_a_400_and_writes_nothing(managing, window, field, value):
    data = form(window, name="Another", **{field: value})
    response = managing.post(reverse("statuspage:maintenance-create"), data)
    assert response.status_code == 400
    assert "Give a time" in response.content.decode()
    assert Maintenance.objects.count() == 1


def test_extending_a_window_in_progress_years_ahead_is_a_400(managing, window):
    tasks.tick(now=window.scheduled_for)
    response = managing.post(edit_url(window), form(window, scheduled_until="9999-12-31T23:59"))
    assert response.status_code == 400
    assert Maintenance.objects.get().scheduled_until == window.scheduled_until


def test_a_window_in_progress_whose_service_was_made_private_can_still_be_extended(
    managing, window, api
):
    tasks.tick(now=window.scheduled_for)
    api.public = False
    api.save()
    later_end = window.scheduled_until + timedelta(hours=1)
    assert managing.get(edit_url(window)).status_code == 200
    response = managing.post(
        edit_url(window), form(window, scheduled_until=later_end.strftime(FORMAT))
    )
    assert response.status_code == 302
    extended = Maintenance.objects.get()
    assert extended.scheduled_until == later_end
    assert list(extended.components.all()) == [component(api)]


def api_made_private_after_scheduling(clock, manager, api, web) -> Maintenance:
    """A window on api and web in two hours; then api's service is made private, so the edit
    form no longer offers it."""
    both = maintenance_schedule(
        actor=manager,
        name="Two",
        message="m",
        scheduled_for=clock.now + timedelta(hours=2),
        scheduled_until=clock.now + timedelta(hours=3),
        components=[component(api), component(web)],
    )
    api.public = False
    api.save()
    return both


def test_a_form_opened_before_the_start_extends_a_window_with_a_hidden_component(
    managing, clock, manager, api, web
):
    # The browser never got the hidden component to send back; its post is what it showed.
    both = api_made_private_after_scheduling(clock, manager, api, web)
    assert managing.get(edit_url(both)).status_code == 200
    tasks.tick(now=both.scheduled_for)
    later_end = both.scheduled_until + timedelta(hours=1)

    response = managing.post(
        edit_url(both),
        form(both, scheduled_until=later_end.strftime(FORMAT), components=[component(web).pk]),
    )

    assert response.status_code == 302
    extended = Maintenance.objects.get()
    assert extended.scheduled_until == later_end
    assert set(extended.components.all()) == {component(api), component(web)}


def test_saving_a_scheduled_window_keeps_a_component_made_private(
    managing, clock, manager, api, web
):
    both = api_made_private_after_scheduling(clock, manager, api, web)
    page = managing.get(edit_url(both)).content.decode()
    assert f'value="{component(api).pk}"' not in page
    response = managing.post(
        edit_url(both), form(both, name="Two renamed", components=[component(web).pk])
    )
    assert response.status_code == 302
    saved = Maintenance.objects.get()
    assert saved.name == "Two renamed"
    assert set(saved.components.all()) == {component(api), component(web)}


def test_a_window_left_with_only_private_components_can_still_be_renamed(managing, window, api):
    api.public = False
    api.save()
    response = managing.post(edit_url(window), form(window, name="Renamed", components=[]))
    assert response.status_code == 302
    saved = Maintenance.objects.get()
    assert saved.name == "Renamed"
    assert list(saved.components.all()) == [component(api)]


@pytest.fixture
def with_seconds(clock, api, manager):
    email_subscriber("ada@example.com")
    return maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="Brief slowness.",
        scheduled_for=clock.now + timedelta(hours=2, seconds=30),
        scheduled_until=clock.now + timedelta(hours=3, seconds=30),
        components=[component(api)],
    )


def test_saving_a_window_with_seconds_unchanged_moves_nothing(managing, with_seconds):
    page = managing.get(edit_url(with_seconds)).content.decode()
    assert f'value="{with_seconds.scheduled_for.strftime(FORMAT)}"' in page
    response = managing.post(edit_url(with_seconds), form(with_seconds, name="Renamed"))
    assert response.status_code == 302
    saved = Maintenance.objects.get()
    assert (saved.name, saved.scheduled_for, saved.scheduled_until) == (
        "Renamed",
        with_seconds.scheduled_for,
        with_seconds.scheduled_until,
    )
    assert saved.timers.get(kind=TimerKind.START).due_at == with_seconds.scheduled_for
    assert list(SubscriberNotification.objects.values_list("maintenance_event", flat=True)) == [
        "scheduled"
    ]


def test_saving_a_window_in_progress_with_seconds_unchanged_is_no_400(managing, with_seconds):
    tasks.tick(now=with_seconds.scheduled_for)
    response = managing.post(edit_url(with_seconds), form(with_seconds))
    assert response.status_code == 302
    assert Maintenance.objects.get().scheduled_until == with_seconds.scheduled_until


def test_moving_a_window_with_seconds_by_a_minute_is_a_move(managing, with_seconds):
    later = with_seconds.scheduled_for + timedelta(minutes=1)
    response = managing.post(
        edit_url(with_seconds), form(with_seconds, scheduled_for=later.strftime(FORMAT))
    )
    assert response.status_code == 302
    assert Maintenance.objects.get().scheduled_for == later.replace(second=0)
