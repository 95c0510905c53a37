"""Rescheduling and editing a maintenance, and posting updates on it: a moved window moves its
timer rows (nothing fires at the old time, the new time fires once), subscribers are told
once per move, and a window that has started may only be made to end later."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from statuspage import tasks, versions
from statuspage.models import (
    ComponentState,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
    TimerKind,
)
from statuspage.models_subscribers import SubscriberNotification
from statuspage.services.maintenance import (
    maintenance_edit,
    maintenance_schedule,
    maintenance_update_post,
    timer_fire,
    timers_claim,
)
from statuspage.subscriptions.services import webhook_subscriber_create
from tests.clock import T0
from tests.statuspage.factories import (
    MAINTENANCE_END,
    MAINTENANCE_START,
    component,
    database_upgrade,
    state,
)
from tests.statuspage.subscriptions_fixtures import (
    deliver_fixture,  # noqa: F401
    email_subscriber,
    run_fixture,  # noqa: F401
)

START, END = MAINTENANCE_START, MAINTENANCE_END
LATER = START + timedelta(days=1)


@pytest.fixture
def window(clock, api, manager):
    email_subscriber("ada@example.com")
    return database_upgrade(manager, api)


def edit(window, actor, **changes):
    fields = {
        "name": window.name,
        "message": window.message,
        "scheduled_for": window.scheduled_for,
        "scheduled_until": window.scheduled_until,
        "components": list(window.components.all()),
        **changes,
    }
    return maintenance_edit(actor=actor, maintenance=window, **fields)


def told(window) -> list[str]:
    return list(
        SubscriberNotification.objects.filter(maintenance=window)
        .order_by("id")
        .values_list("maintenance_event", flat=True)
    )


def timers(window) -> dict[str, object]:
    return dict(window.timers.filter(done_at__isnull=True).values_list("kind", "due_at"))


def status(window) -> str:
    window.refresh_from_db()
    return window.status


def test_rescheduling_moves_the_timers(window, manager):
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=2))
    assert timers(window) == {
        TimerKind.REMINDER_60: LATER - timedelta(minutes=60),
        TimerKind.START: LATER,
        TimerKind.END: LATER + timedelta(hours=2),
    }


def test_a_rescheduled_window_does_not_start_at_the_old_time_and_starts_once_at_the_new(
    window, manager, api
):
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    tasks.tick(now=START)
    tasks.tick(now=END)
    assert status(window) == MaintenanceStatus.SCHEDULED
    assert state(api) == ComponentState.OPERATIONAL

    tasks.tick(now=LATER)
    tasks.tick(now=LATER + timedelta(seconds=30))
    assert status(window) == MaintenanceStatus.IN_PROGRESS
    assert window.started_at == LATER
    started = MaintenanceUpdate.objects.filter(
        maintenance=window, status=MaintenanceStatus.IN_PROGRESS
    )
    assert started.count() == 1
    assert told(window).count("started") == 1


def test_a_claim_taken_at_the_old_time_is_void_after_the_move(window, manager):
    (claimed,) = [t for t in timers_claim(now=START) if t.kind == TimerKind.START]
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    assert timer_fire(timer=claimed, now=START) is False
    assert status(window) == MaintenanceStatus.SCHEDULED
    tasks.tick(now=LATER)
    assert status(window) == MaintenanceStatus.IN_PROGRESS


def test_subscribers_are_told_once_of_each_move(window, manager):
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    assert told(window) == ["scheduled", "rescheduled"]
    update = MaintenanceUpdate.objects.filter(maintenance=window).order_by("id").last()
    assert update is not None
    assert update.status == MaintenanceStatus.SCHEDULED
    assert "rescheduled" in update.body
    edit(
        window,
        manager,
        scheduled_for=LATER + timedelta(days=1),
        scheduled_until=LATER + timedelta(days=1, hours=1),
    )
    assert told(window) == ["scheduled", "rescheduled", "rescheduled"]


def test_the_email_of_a_move_gives_the_new_window(window, manager, smtp_stub, deliver):
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    # A subscriber's emails go out in order, one a tick: the announcement, then the move.
    deliver()
    deliver()
    [moved] = [
        message
        for message in smtp_stub.messages_to("ada@example.com")
        if "Maintenance rescheduled: Database upgrade" in message["Subject"]
    ]
    text = moved.get_body(preferencelist=("plain",)).get_content()
    assert "has been rescheduled" in text
    assert f"/status/incidents/{window.code}/" in text


def test_editing_the_words_alone_moves_nothing_and_tells_no_one(window, manager):
    edit(window, manager, name="Database upgrade (v16)")
    window.refresh_from_db()
    assert window.name == "Database upgrade (v16)"
    assert told(window) == ["scheduled"]
    assert timers(window)[TimerKind.START] == START


def test_nothing_changed_writes_nothing(window, manager, events_run):
    version = versions.current()
    with events_run():
        edit(window, manager)
    assert versions.current() == version
    assert MaintenanceUpdate.objects.filter(maintenance=window).count() == 1
    assert told(window) == ["scheduled"]


def test_moved_within_the_hour_the_notice_is_the_reminder(window, manager, clock):
    soon = clock.now + timedelta(minutes=20)
    edit(window, manager, scheduled_for=soon, scheduled_until=soon + timedelta(hours=1))
    assert TimerKind.REMINDER_60 not in timers(window)
    tasks.tick(now=soon)
    assert told(window) == ["scheduled", "rescheduled", "started"]


def test_a_window_moved_further_out_gets_its_reminder(clock, api, manager):
    email_subscriber("ada@example.com")
    soon = maintenance_schedule(
        actor=manager,
        name="Quick fix",
        message="Brief blip.",
        scheduled_for=T0 + timedelta(minutes=30),
        scheduled_until=T0 + timedelta(minutes=40),
        components=[component(api)],
    )
    edit(soon, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    tasks.tick(now=LATER - timedelta(minutes=60))
    assert told(soon) == ["scheduled", "rescheduled", "reminder_60"]


def test_a_window_in_progress_may_end_later(window, manager, api):
    tasks.tick(now=START)
    edit(window, manager, scheduled_until=END + timedelta(hours=1))
    tasks.tick(now=END)
    assert status(window) == MaintenanceStatus.IN_PROGRESS
    assert state(api) == ComponentState.UNDER_MAINTENANCE
    tasks.tick(now=END + timedelta(hours=1))
    tasks.tick(now=END + timedelta(hours=1, seconds=30))
    assert status(window) == MaintenanceStatus.COMPLETED
    assert told(window) == ["scheduled", "started", "extended", "completed"]


def test_a_window_in_progress_may_not_move_its_start_or_change_otherwise(window, manager, api):
    tasks.tick(now=START)
    window.refresh_from_db()
    updated_at = window.updated_at
    for changes in (
        {"scheduled_for": START + timedelta(minutes=5)},
        {"name": "Something else"},
        {"components": []},
        {"scheduled_until": END - timedelta(minutes=10)},
    ):
        with pytest.raises(ValidationError):
            edit(window, manager, **changes)
    window.refresh_from_db()
    assert (window.name, window.scheduled_until, window.updated_at) == (
        "Database upgrade",
        END,
        updated_at,
    )
    assert timers(window) == {TimerKind.END: END}
    assert told(window) == ["scheduled", "started"]


def test_a_window_that_is_over_cannot_be_changed(window, manager):
    tasks.tick(now=START)
    tasks.tick(now=END)
    with pytest.raises(ValidationError):
        edit(window, manager, scheduled_until=END + timedelta(hours=1))
    with pytest.raises(ValidationError):
        maintenance_update_post(actor=manager, maintenance=window, body="More to come.")


def test_a_bad_new_window_is_refused(window, manager):
    with pytest.raises(ValidationError) as error:
        edit(window, manager, scheduled_until=START)
    assert "scheduled_until" in error.value.message_dict
    assert timers(window)[TimerKind.END] == END


def test_only_managers_edit_or_post_updates(window, responder):
    with pytest.raises(PermissionDenied):
        edit(window, responder, scheduled_until=END + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        maintenance_update_post(actor=responder, maintenance=window, body="Hello.")


def test_an_update_during_the_window_is_shown_under_its_status(
    window, manager, settings, events_run, clock
):
    settings.BASE_URL = "https://status.example.test"
    tasks.tick(now=START)
    clock.now = START + timedelta(minutes=10)
    version = versions.current()
    with events_run():
        update = maintenance_update_post(
            actor=manager, maintenance=window, body="Half the replicas are upgraded."
        )
    assert update.status == MaintenanceStatus.IN_PROGRESS
    assert versions.current() != version
    page = Client().get(f"/status/incidents/{window.code}/").content.decode()
    assert "Half the replicas are upgraded." in page
    front = Client().get("/status/").content.decode()
    assert "Half the replicas are upgraded." in front
    summary = Client().get("/status/api/v2/summary.json").json()
    [listed] = summary["scheduled_maintenances"]
    posted, started = listed["incident_updates"][:2]
    assert posted["body"] == "Half the replicas are upgraded."
    # The start moved the component; a word on progress under the same status moves nothing.
    moves = [
        (
            update["affected_components"][0]["old_status"],
            update["affected_components"][0]["new_status"],
        )
        for update in (started, posted)
    ]
    assert moves == [
        ("operational", "under_maintenance"),
        ("under_maintenance", "under_maintenance"),
    ]
    assert listed["shortlink"].endswith(f"/status/incidents/{window.code}/")


def test_a_blank_update_is_refused(window, manager):
    with pytest.raises(ValidationError):
        maintenance_update_post(actor=manager, maintenance=window, body="  ")
    assert Maintenance.objects.get().updates.count() == 1


def test_an_update_past_10000_characters_is_refused(window, manager):
    with pytest.raises(ValidationError, match="10,000 characters"):
        maintenance_update_post(actor=manager, maintenance=window, body="x" * 10_001)
    assert Maintenance.objects.get().updates.count() == 1


@pytest.mark.parametrize(
    "field,value",
    [
        ("scheduled_for", datetime(1, 1, 1, tzinfo=UTC)),
        ("scheduled_until", datetime(9999, 12, 31, 23, 59, tzinfo=UTC)),
    ],
)
def test_the_service_refuses_a_time_out_of_range(window, manager, field, value):
    with pytest.raises(ValidationError) as refused:
        edit(window, manager, **{field: value})
    assert field in refused.value.message_dict
    window_fields = {"scheduled_for": START, "scheduled_until": END, field: value}
    with pytest.raises(ValidationError):
        maintenance_schedule(
            actor=manager,
            name="Another",
            message="m",
            components=list(window.components.all()),
            **window_fields,
        )
    assert told(window) == ["scheduled"]
    assert Maintenance.objects.count() == 1


def test_a_window_moved_within_the_hour_then_further_out_gets_its_reminder(window, manager, clock):
    soon = clock.now + timedelta(minutes=20)
    edit(window, manager, scheduled_for=soon, scheduled_until=soon + timedelta(hours=1))
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    assert timers(window)[TimerKind.REMINDER_60] == LATER - timedelta(minutes=60)
    tasks.tick(now=LATER - timedelta(minutes=60))
    tasks.tick(now=LATER)
    assert told(window) == ["scheduled", "rescheduled", "rescheduled", "reminder_60", "started"]


def test_a_window_moved_after_its_reminder_was_sent_is_reminded_of_again(window, manager):
    tasks.tick(now=START - timedelta(minutes=60))
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    tasks.tick(now=LATER - timedelta(minutes=60))
    tasks.tick(now=LATER - timedelta(minutes=59))
    assert told(window) == ["scheduled", "reminder_60", "rescheduled", "reminder_60"]


def test_a_window_whose_end_alone_moved_after_its_reminder_is_not_reminded_of_again(
    window, manager
):
    tasks.tick(now=START - timedelta(minutes=60))
    edit(window, manager, scheduled_until=END + timedelta(hours=1))
    assert TimerKind.REMINDER_60 not in timers(window)
    tasks.tick(now=START)
    assert told(window) == ["scheduled", "reminder_60", "rescheduled", "started"]


def test_changing_the_components_tells_the_subscribers_of_the_old_and_the_new_once(
    clock, api, web, manager
):
    only_api = email_subscriber("api@example.com", components=[component(api)])
    only_web = email_subscriber("web@example.com", components=[component(web)])
    both = email_subscriber("both@example.com", components=[component(api), component(web)])
    window = maintenance_schedule(
        actor=manager,
        name="Upgrade",
        message="m",
        scheduled_for=START,
        scheduled_until=END,
        components=[component(api)],
    )
    edit(window, manager, components=[component(web)])
    update = MaintenanceUpdate.objects.filter(maintenance=window).order_by("id").last()
    assert update is not None
    assert (update.status, update.body) == (
        MaintenanceStatus.SCHEDULED,
        "The components under maintenance have changed. Under maintenance now: Website.",
    )
    changed = SubscriberNotification.objects.filter(event_key__endswith=update.code)
    assert sorted(changed.values_list("subscriber__address", flat=True)) == [
        "api@example.com",
        "both@example.com",
        "web@example.com",
    ]
    # Its own event, not a second "scheduled": the subject says what happened.
    assert set(changed.values_list("maintenance_event", flat=True)) == {"changed"}
    tasks.tick(now=START)
    started = SubscriberNotification.objects.filter(maintenance_event="started")
    assert set(started.values_list("subscriber", flat=True)) == {only_web.pk, both.pk}
    assert only_api.pk not in set(started.values_list("subscriber", flat=True))


def test_moving_and_changing_the_components_is_one_reschedule(window, manager, web):
    edit(
        window,
        manager,
        scheduled_for=LATER,
        scheduled_until=LATER + timedelta(hours=1),
        components=[component(web)],
    )
    assert told(window) == ["scheduled", "rescheduled"]
    update = MaintenanceUpdate.objects.filter(maintenance=window).order_by("id").last()
    assert update is not None
    assert "rescheduled" in update.body
    assert update.body.endswith("Under maintenance now: Website.")


def test_each_posted_update_is_told_once_to_the_subscribers_of_its_components(window, manager, web):
    email_subscriber("web@example.com", components=[component(web)])
    first = maintenance_update_post(actor=manager, maintenance=window, body="Delayed by 30 min.")
    tasks.tick(now=START)
    second = maintenance_update_post(actor=manager, maintenance=window, body="Half done.")
    rows = SubscriberNotification.objects.filter(maintenance=window)
    assert list(rows.values_list("subscriber__address", flat=True).distinct()) == [
        "ada@example.com"
    ]
    assert [
        row.maintenance_event
        for row in rows.order_by("id")
        if row.event_key.endswith((first.code, second.code))
    ] == ["updated", "updated"]
    assert told(window) == ["scheduled", "updated", "started", "updated"]


def test_a_posted_update_is_emailed_and_posted_to_webhooks(
    window, manager, smtp_stub, deliver, webhook_receiver
):
    webhook_subscriber_create(url=webhook_receiver.url_for("/status-hook"))
    tasks.tick(now=START)
    deliver()
    deliver()
    webhook_receiver.requests.clear()
    maintenance_update_post(actor=manager, maintenance=window, body="Half the replicas are done.")
    deliver()

    [email] = [
        message
        for message in smtp_stub.messages_to("ada@example.com")
        if "Half the replicas are done."
        in message.get_body(preferencelist=("plain",)).get_content()
    ]
    # Told as an update, not as the start again; the webhook's status is the window's then.
    assert "Maintenance update: Database upgrade" in email["Subject"]
    [request] = webhook_receiver.requests
    incident = request.json()["incident"]
    assert incident["status"] == "in_progress"
    assert incident["incident_updates"][0]["body"] == "Half the replicas are done."


def test_an_edit_shows_on_the_page_at_once(window, manager, events_run):
    assert "Database upgrade" in Client().get("/status/").content.decode()
    with events_run():
        edit(window, manager, name="Database upgrade (v16)")
    assert "Database upgrade (v16)" in Client().get("/status/").content.decode()


def test_each_reschedule_is_told_with_the_window_it_set(window, manager, clock, smtp_stub, deliver):
    # Moved twice before anything was sent: the first email still announces the first move's
    # window, in its heading as in its words.
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))
    clock.advance(minutes=1)
    edit(
        window,
        manager,
        scheduled_for=LATER + timedelta(hours=2),
        scheduled_until=LATER + timedelta(hours=3),
    )
    # One of a subscriber's notifications a round, in order.
    for _ in range(3):
        deliver()

    rescheduled = [
        message.get_body(preferencelist=("plain",)).get_content()
        for message in smtp_stub.messages_to("ada@example.com")
        if "rescheduled" in message["Subject"].lower()
    ]
    first_window = f"{LATER:%Y-%m-%d %H:%M} UTC"
    second_window = f"{LATER + timedelta(hours=2):%Y-%m-%d %H:%M} UTC"
    assert len(rescheduled) == 2
    [first] = [text for text in rescheduled if first_window in text]
    assert second_window not in first
    [second] = [text for text in rescheduled if second_window in text]
    assert first_window not in second


def test_an_older_feed_entry_keeps_the_window_it_announced(window, manager, clock):
    edit(window, manager, scheduled_for=LATER, scheduled_until=LATER + timedelta(hours=1))

    feed = Client().get("/status/history.rss").content.decode()

    announced = f"{START.astimezone(UTC):%Y-%m-%d %H:%M}"
    moved = f"{LATER.astimezone(UTC):%Y-%m-%d %H:%M}"
    # Two entries, the scheduling and the move, each with its own window.
    assert feed.count(f"Scheduled from {announced}") == 1
    assert feed.count(f"Scheduled from {moved}") == 1


def test_a_posted_update_before_the_start_is_told_under_scheduled(
    window, manager, deliver, webhook_receiver
):
    webhook_subscriber_create(url=webhook_receiver.url_for("/status-hook"))
    deliver()
    webhook_receiver.requests.clear()

    maintenance_update_post(actor=manager, maintenance=window, body="Starts as planned.")
    deliver()

    [request] = webhook_receiver.requests
    incident = request.json()["incident"]
    assert incident["status"] == "scheduled"
    assert incident["incident_updates"][0]["body"] == "Starts as planned."
