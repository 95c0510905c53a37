"""Status-update reminders: a timer row per open incident, a post in its channel naming the
commander when no update came within the severity's cadence, and its two buttons."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, User
from chatops import interactions, tasks
from chatops.actors import not_linked_text
from chatops.interactions import process_interaction
from chatops.models import (
    CallState,
    InboundRequest,
    IncidentChannel,
    SlackCall,
    SlackUserLink,
    UpdateReminder,
)
from chatops.reminders import POST_UPDATE_CALLBACK
from chatops.services import inbound, outbox
from chatops.services.channels import CHANNEL_WAIT
from chatops.services.reminders import reminders_send_due
from incidents import services
from incidents.models import Source, StatusUpdate, TimelineEvent
from tests.chatops.commands_support import race
from tests.chatops.slack_requests import block_action, post_signed, view_submission
from tests.factories import declare, severity

COLE_SLACK = "U0COLE"
ROSA_SLACK = "U0ROSA"


def link(user, slack_user_id):
    SlackUserLink.objects.create(
        user=user, slack_user_id=slack_user_id, source="hand", linked_at=timezone.now()
    )


@pytest.fixture
def declared(clock, commander, responder, slack_stub, django_capture_on_commit_callbacks):
    """A SEV2 (cadence 1 h) declared at T0 by the responder, Cole commanding; its channel made."""
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(responder, severity_name="SEV2", commander=commander)
    send_outbox()
    assert IncidentChannel.objects.get(incident=incident).channel_id
    return incident


def send_outbox():
    """What the workers do: send every call that is due, once."""
    results = []
    for call in SlackCall.objects.filter(
        state__in=(CallState.PENDING, CallState.QUEUED), due_at__lte=timezone.now()
    ):
        results.append(outbox.call_send(call_id=call.pk))
    return results


def reminders_in(slack_stub, incident):
    channel = IncidentChannel.objects.get(incident=incident).channel_id
    return [
        message
        for message in slack_stub.messages_in(channel)
        if any(
            element.get("action_id") == interactions.REMINDER_SNOOZE
            for block in message.blocks
            for element in block.get("elements", [])
        )
    ]


def tick(clock, **advance):
    clock.advance(**advance)
    reminders_send_due(now=timezone.now())
    send_outbox()


def process_inbound():
    for row in InboundRequest.objects.filter(processed_at__isnull=True):
        inbound.inbound_process(inbound_id=row.pk)


def action_value(message, action_id):
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return element["value"]
    raise AssertionError(f"no {action_id} button")


def test_declaring_starts_the_wait_with_the_severitys_cadence(declared, clock):

    reminder = UpdateReminder.objects.get(incident=declared)
    assert reminder.due_at == declared.declared_at + timedelta(hours=1)


def test_a_due_reminder_posts_once_in_the_channel_naming_the_commander(
    declared, clock, commander, slack_stub
):
    link(commander, COLE_SLACK)

    tick(clock, minutes=59)
    assert reminders_in(slack_stub, declared) == []

    tick(clock, minutes=1)
    (message,) = reminders_in(slack_stub, declared)
    assert f"<@{COLE_SLACK}> (commander)" in message.text
    assert f"No status update has been posted on {declared.ref}" in message.text
    assert action_value(message, interactions.REMINDER_POST_UPDATE) == str(declared.number)
    assert action_value(message, interactions.REMINDER_SNOOZE) == str(declared.number)


def test_an_unlinked_commander_is_named_by_name(declared, clock, slack_stub):
    tick(clock, hours=1)

    (message,) = reminders_in(slack_stub, declared)
    assert "Cole Commander (commander)" in message.text


def test_without_a_commander_the_reminder_says_so(
    clock, responder, slack_stub, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(responder, severity_name="SEV1")
    send_outbox()

    tick(clock, minutes=30)

    (message,) = reminders_in(slack_stub, incident)
    assert "No commander assigned" in message.text


def test_two_beats_at_the_same_moment_send_one_reminder(declared, clock, slack_stub):

    clock.advance(hours=1)
    first_due = UpdateReminder.objects.get(incident=declared).due_at
    reminders_send_due(now=timezone.now())
    reminders_send_due(now=timezone.now())
    # A beat that read the row before the first moved it on claims the same due time again.
    UpdateReminder.objects.filter(incident=declared).update(due_at=first_due)
    reminders_send_due(now=timezone.now())
    send_outbox()

    assert len(reminders_in(slack_stub, declared)) == 1
    assert SlackCall.objects.filter(kind="reminder").count() == 1


def test_the_next_reminder_follows_one_cadence_later(declared, clock, slack_stub):
    tick(clock, hours=1)
    tick(clock, minutes=59)
    assert len(reminders_in(slack_stub, declared)) == 1

    tick(clock, minutes=1)
    assert len(reminders_in(slack_stub, declared)) == 2


def test_a_status_update_pushes_the_reminder_forward(
    declared, clock, responder, slack_stub, django_capture_on_commit_callbacks
):
    clock.advance(minutes=50)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_post_update(incident=declared, actor=responder, message="Rolling back")

    tick(clock, minutes=20)  # 70 min after declaring, 20 after the update
    assert reminders_in(slack_stub, declared) == []

    tick(clock, minutes=40)
    (message,) = reminders_in(slack_stub, declared)
    assert f"The last status update on {declared.ref} was 60 min ago." in message.text


def test_an_update_posted_after_the_reminder_was_queued_cancels_it(
    declared, clock, responder, slack_stub, django_capture_on_commit_callbacks
):
    clock.advance(hours=1)
    reminders_send_due(now=timezone.now())
    clock.advance(seconds=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_post_update(incident=declared, actor=responder, message="Fixed")

    send_outbox()

    assert reminders_in(slack_stub, declared) == []
    assert SlackCall.objects.get(kind="reminder").state == CallState.CANCELLED


def test_resolving_stops_the_reminders_and_reopening_starts_them_again(
    declared, clock, responder, slack_stub, django_capture_on_commit_callbacks
):

    clock.advance(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=declared, actor=responder)
    assert not UpdateReminder.objects.filter(incident=declared).exists()

    tick(clock, hours=3)
    assert reminders_in(slack_stub, declared) == []

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=declared, actor=responder)
    tick(clock, minutes=59)
    assert reminders_in(slack_stub, declared) == []
    tick(clock, minutes=1)
    assert len(reminders_in(slack_stub, declared)) == 1


def test_a_severity_change_applies_the_new_cadence(
    declared, clock, responder, slack_stub, django_capture_on_commit_callbacks
):
    clock.advance(minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=declared, actor=responder, severity=severity("SEV1")
        )

    tick(clock, minutes=19)  # 29 min after declaring
    assert reminders_in(slack_stub, declared) == []
    tick(clock, minutes=1)  # SEV1's 30 min
    assert len(reminders_in(slack_stub, declared)) == 1


def test_the_reminder_waits_for_the_incidents_channel(declared, clock, slack_stub):
    channel = IncidentChannel.objects.get(incident=declared)
    # As if Slack had not created the channel yet.
    IncidentChannel.objects.filter(pk=channel.pk).update(channel_id="")

    clock.advance(hours=1)
    reminders_send_due(now=timezone.now())
    call = SlackCall.objects.get(kind="reminder")
    assert outbox.call_send(call_id=call.pk) == "waiting"
    posted = [c for c in slack_stub.calls_to("chat.postMessage") if "expects one" in c["text"]]
    assert posted == []

    # Filled in by hand, so nothing wakes the reminder: it looks again after its wait.
    IncidentChannel.objects.filter(pk=channel.pk).update(channel_id=channel.channel_id)
    clock.advance(seconds=CHANNEL_WAIT)
    assert outbox.call_send(call_id=call.pk) == "sent"
    assert len(reminders_in(slack_stub, declared)) == 1


def test_the_chatops_beat_tick_sends_due_reminders(declared, clock, slack_stub):
    clock.advance(hours=1)

    tasks.tick()
    send_outbox()

    assert len(reminders_in(slack_stub, declared)) == 1


def test_without_a_token_nothing_is_queued_and_the_reminder_stays_due(declared, clock, settings):
    settings.SLACK_BOT_TOKEN = ""
    clock.advance(hours=2)

    assert reminders_send_due(now=timezone.now()) == 0
    assert not SlackCall.objects.filter(kind="reminder").exists()


# --- Snooze 30 min ---------------------------------------------------------------------------


def click(client, secret, slack_stub, action_id, incident, *, user_id, key="click"):
    request = block_action(
        action_id,
        str(incident.number),
        user_id=user_id,
        channel_id=IncidentChannel.objects.get(incident=incident).channel_id,
        message_ts="1700000000.000100",
        response_url=slack_stub.response_url(key),
    )
    return post_signed(client, "/slack/interactions", *request, secret=secret)


def test_snooze_holds_the_next_reminder_off_for_30_minutes(
    declared, clock, commander, client, slack_stub, slack_signing_secret
):

    link(commander, COLE_SLACK)
    tick(clock, hours=1)
    clock.advance(minutes=5)

    response = click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_SNOOZE,
        declared,
        user_id=COLE_SLACK,
    )
    assert response.status_code == 200
    process_inbound()
    send_outbox()

    reminder = UpdateReminder.objects.get(incident=declared)
    assert reminder.due_at == timezone.now() + timedelta(minutes=30)
    assert reminder.snoozed_until == reminder.due_at
    (answer,) = slack_stub.responses_at("click")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Snoozed")

    tick(clock, minutes=29)
    assert len(reminders_in(slack_stub, declared)) == 1
    tick(clock, minutes=1)
    assert len(reminders_in(slack_stub, declared)) == 2


def test_snooze_from_an_unlinked_slack_account_is_refused(
    declared, clock, client, slack_stub, slack_signing_secret
):

    due = UpdateReminder.objects.get(incident=declared).due_at

    click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_SNOOZE,
        declared,
        user_id="U0STRANGER",
    )
    process_inbound()
    send_outbox()

    assert UpdateReminder.objects.get(incident=declared).due_at == due
    (answer,) = slack_stub.responses_at("click")
    assert answer == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": not_linked_text(),
    }


def test_snooze_needs_a_role_that_may_respond(
    declared, clock, viewer, client, slack_stub, slack_signing_secret
):

    link(viewer, "U0VIC")
    due = UpdateReminder.objects.get(incident=declared).due_at

    click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_SNOOZE,
        declared,
        user_id="U0VIC",
    )
    process_inbound()
    send_outbox()

    assert UpdateReminder.objects.get(incident=declared).due_at == due
    (answer,) = slack_stub.responses_at("click")
    assert "may not post updates" in answer["text"]


# --- Post update ----------------------------------------------------------------------------


def test_post_update_opens_a_modal_filled_in_with_the_last_update(
    declared, clock, responder, client, slack_stub, slack_signing_secret
):
    link(responder, ROSA_SLACK)
    services.incident_post_update(incident=declared, actor=responder, message="Failing over the DB")

    response = click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_POST_UPDATE,
        declared,
        user_id=ROSA_SLACK,
    )

    assert response.status_code == 200
    (opened,) = slack_stub.calls_to("views.open")
    view = opened["view"]
    assert view["callback_id"] == POST_UPDATE_CALLBACK
    assert view["private_metadata"] == str(declared.number)
    message = next(b for b in view["blocks"] if b.get("block_id") == "message")
    assert message["element"]["initial_value"] == "Failing over the DB"
    assert any(b.get("block_id") == "public" for b in view["blocks"])


def test_post_update_from_an_unlinked_account_opens_nothing_and_says_why(
    declared, clock, client, slack_stub, slack_signing_secret
):
    click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_POST_UPDATE,
        declared,
        user_id="U0STRANGER",
    )
    send_outbox()

    assert slack_stub.calls_to("views.open") == []
    (answer,) = slack_stub.responses_at("click")
    assert answer["text"] == not_linked_text()


def test_when_the_modal_cannot_open_the_answer_links_the_web_page(
    declared, clock, responder, client, slack_stub, slack_signing_secret, settings
):
    link(responder, ROSA_SLACK)
    slack_stub.fail_next("expired_trigger_id", method="views.open")

    click(
        client,
        slack_signing_secret,
        slack_stub,
        interactions.REMINDER_POST_UPDATE,
        declared,
        user_id=ROSA_SLACK,
    )
    send_outbox()

    (answer,) = slack_stub.responses_at("click")
    assert answer["response_type"] == "ephemeral"
    assert f"{settings.BASE_URL}{declared.get_absolute_url()}" in answer["text"]


def submit(client, secret, incident, *, user_id, message, public=False):
    values = {"message": {"message": message}}
    if public:
        values["public"] = {
            "public": {"type": "checkboxes", "selected_options": [{"value": "public"}]}
        }
    request = view_submission(
        POST_UPDATE_CALLBACK, values, user_id=user_id, private_metadata=str(incident.number)
    )
    return post_signed(client, "/slack/interactions", *request, secret=secret)


def test_a_submitted_update_is_posted_by_the_task_as_the_linked_user(
    declared,
    clock,
    responder,
    client,
    slack_stub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
):
    link(responder, ROSA_SLACK)

    response = submit(
        client,
        slack_signing_secret,
        declared,
        user_id=ROSA_SLACK,
        message=" DB is back ",
        public=True,
    )
    assert response.status_code == 200
    assert response.content == b""
    assert not StatusUpdate.objects.filter(incident=declared).exists()

    with django_capture_on_commit_callbacks(execute=True):
        process_inbound()

    (update,) = StatusUpdate.objects.filter(incident=declared)
    assert (update.message, update.public, update.author) == ("DB is back", True, responder)
    entry = TimelineEvent.objects.filter(incident=declared, kind="status_update").get()
    assert entry.source == Source.SLACK


def test_a_submitted_update_restarts_the_wait(
    declared,
    clock,
    responder,
    client,
    slack_stub,
    slack_signing_secret,
    django_capture_on_commit_callbacks,
):

    link(responder, ROSA_SLACK)
    clock.advance(minutes=45)
    submit(client, slack_signing_secret, declared, user_id=ROSA_SLACK, message="Still on it")
    with django_capture_on_commit_callbacks(execute=True):
        process_inbound()

    assert UpdateReminder.objects.get(incident=declared).due_at == timezone.now() + timedelta(
        hours=1
    )


def test_an_empty_update_is_answered_on_the_form(
    declared, clock, responder, client, slack_stub, slack_signing_secret
):
    link(responder, ROSA_SLACK)

    response = submit(client, slack_signing_secret, declared, user_id=ROSA_SLACK, message="  ")

    assert response.json() == {
        "response_action": "errors",
        "errors": {"message": "Write the update."},
    }
    assert not InboundRequest.objects.exists()


def test_a_public_update_on_a_private_incident_is_answered_on_the_form(
    clock, responder, client, slack_stub, slack_signing_secret
):
    link(responder, ROSA_SLACK)
    incident = declare(responder, private=True)

    response = submit(
        client, slack_signing_secret, incident, user_id=ROSA_SLACK, message="x", public=True
    )

    assert response.json()["errors"] == {
        "public": "A private incident cannot have public status updates."
    }
    assert not InboundRequest.objects.exists()


def test_a_submission_from_a_viewer_is_refused_on_the_form(
    declared, clock, viewer, client, slack_stub, slack_signing_secret
):
    link(viewer, "U0VIC")

    response = submit(client, slack_signing_secret, declared, user_id="U0VIC", message="hi")

    assert "may not post updates" in response.json()["errors"]["message"]
    assert not StatusUpdate.objects.filter(incident=declared).exists()


def test_a_posted_update_is_confirmed_by_direct_message(
    declared, clock, responder, client, slack_stub, slack_signing_secret
):
    link(responder, ROSA_SLACK)
    slack_stub.add_user(ROSA_SLACK, responder.email)

    submit(client, slack_signing_secret, declared, user_id=ROSA_SLACK, message="DB is back")
    process_inbound()
    process_inbound()
    send_outbox()

    assert StatusUpdate.objects.filter(incident=declared).count() == 1
    [dm] = slack_stub.messages_to(ROSA_SLACK)
    assert dm["text"].startswith("Posted your internal update on <")


def test_an_update_the_service_refuses_is_answered_by_direct_message(
    declared, clock, responder, client, slack_stub, slack_signing_secret, settings
):
    link(responder, ROSA_SLACK)
    slack_stub.add_user(ROSA_SLACK, responder.email)
    submit(client, slack_signing_secret, declared, user_id=ROSA_SLACK, message="DB is back")
    # Made a viewer between the form's check and the task.
    User.objects.filter(pk=responder.pk).update(role=Role.VIEWER)

    process_inbound()
    send_outbox()

    assert not StatusUpdate.objects.filter(incident=declared).exists()
    [dm] = slack_stub.messages_to(ROSA_SLACK)
    assert dm["text"].startswith(f"Your update on <{settings.BASE_URL}")
    assert "was not posted:" in dm["text"]


# serialized_rollback restores the seeded severities that the flush after the test removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_runs_of_a_submitted_update_post_once(
    responder, client, slack_stub, slack_signing_secret
):
    link(responder, ROSA_SLACK)
    incident = declare(responder, severity_name="SEV2")
    submit(client, slack_signing_secret, incident, user_id=ROSA_SLACK, message="DB is back")
    stored = InboundRequest.objects.get()

    assert race(lambda: process_interaction(stored)) == []

    assert StatusUpdate.objects.filter(incident=incident).count() == 1
