"""A channel per incident: named from the template, created once whatever happens in Slack."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from accounts.actors import SYSTEM
from chatops.models import IncidentChannel, SlackCall, SlackUserLink
from chatops.selectors import incident_for_channel
from chatops.services import channels, notices, outbox
from incidents import services
from incidents.models import RoleKind, Status
from tests.chatops.channel_support import work
from tests.factories import declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(slack_stub, settings, clock):
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = ""
    settings.BASE_URL = "https://tocsin.example.com"
    return slack_stub


def test_names_are_slugged_from_the_title():
    assert channels.channel_name(number=12, title="Checkout: 50% errors (EU) — Ünïcode!") == (
        "inc-12-checkout-50-errors-eu-unicode"
    )
    assert channels.channel_name(number=3, title="!!!") == "inc-3"
    assert channels.channel_name(number=3, title="db down", attempt=2) == "inc-3-db-down-2"


def test_long_titles_are_cut_at_a_word_boundary_within_80_characters():
    title = "the primary database in eu-west-1 refuses connections " * 4
    name = channels.channel_name(number=1234, title=title)
    assert len(name) <= 80
    assert not name.endswith("-")
    assert title.replace(" ", "-").startswith(name.removeprefix("inc-1234-") + "-")
    with_suffix = channels.channel_name(number=1234, title=title, attempt=13)
    assert len(with_suffix) <= 80
    assert with_suffix.endswith("-13")


def test_a_single_overlong_word_is_cut_hard():
    name = channels.channel_name(number=7, title="x" * 200)
    assert name == "inc-7-" + "x" * 74


def test_template_comes_from_settings(settings):
    settings.SLACK_CHANNEL_NAME_TEMPLATE = "Incident_{number}_{slug}"
    assert channels.channel_name(number=9, title="Disk full") == "incident_9_disk-full"


def test_declaring_creates_the_channel_once_with_topic_invites_and_bookmark(
    slack, clock, commander, django_capture_on_commit_callbacks
):
    slack.add_user("U0COLE", "cole@example.com")
    SlackUserLink.objects.create(
        user=commander, slack_user_id="U0COLE", source="email", linked_at=clock.now
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(title="Checkout is failing", commander=commander)
    work(clock)

    [created] = slack.channels_created()
    assert created.name == f"inc-{incident.number}-checkout-is-failing"
    assert not created.is_private
    row = IncidentChannel.objects.get(incident=incident)
    assert row.channel_id == created.id
    assert incident_for_channel(created.id) == incident
    assert incident_for_channel("C0NOTOURS") is None
    assert slack.topic_of(created.id) == (
        f"INC-{incident.number} · SEV2 · Detected · Commander: Cole Commander"
    )
    assert "U0COLE" in slack.members_of(created.id)
    [bookmark] = slack.bookmarks_of(created.id)
    assert bookmark["link"] == f"https://tocsin.example.com/incidents/{incident.number}/"

    # Another change sets the topic again, but invites and bookmarks nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_status(
            incident=incident, actor=commander, status=Status.INVESTIGATING
        )
    work(clock)
    assert len(slack.calls_to("conversations.create")) == 1
    assert len(slack.calls_to("conversations.invite")) == 1
    assert len(slack.calls_to("bookmarks.add")) == 1
    assert "Investigating" in slack.topic_of(created.id)

    # A change that leaves the topic as it was does not send it again.
    topics = len(slack.calls_to("conversations.setTopic"))
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_add_responders(incident=incident, users=[])
        channels.setup_refresh(incident_id=incident.pk)
    work(clock)
    assert len(slack.calls_to("conversations.setTopic")) == topics


def test_paged_responders_with_linked_accounts_are_invited(
    slack, clock, responder, outsider, django_capture_on_commit_callbacks
):
    slack.add_user("U0ROSA", "rosa@example.com")
    slack.add_user("U0OTTO", "otto@example.com")
    SlackUserLink.objects.create(
        user=responder, slack_user_id="U0ROSA", source="email", linked_at=clock.now
    )
    SlackUserLink.objects.create(
        user=outsider, slack_user_id="U0OTTO", source="email", linked_at=clock.now
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM)
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    assert "U0ROSA" not in slack.members_of(channel_id)

    # Paging makes Rosa a participant; the next change of the incident invites her.
    services.incident_add_responders(incident=incident, users=[responder])
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
    work(clock)
    members = slack.members_of(channel_id)
    assert "U0ROSA" in members
    assert "U0OTTO" not in members


def test_a_person_already_in_the_channel_is_no_error(
    slack, clock, commander, django_capture_on_commit_callbacks
):
    slack.add_user("U0COLE", "cole@example.com")
    SlackUserLink.objects.create(
        user=commander, slack_user_id="U0COLE", source="email", linked_at=clock.now
    )
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM)
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    slack.fail_next("already_in_channel", method="conversations.invite")
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assign_role(
            incident=incident, actor=SYSTEM, role=RoleKind.COMMANDER, user=commander
        )
    work(clock)
    setup = SlackCall.objects.get(key=f"channel-setup:{incident.pk}")
    assert setup.state == "sent"
    assert "Cole Commander" in slack.topic_of(channel_id)


def test_a_private_incident_gets_a_private_channel(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, private=True)
    work(clock)
    [created] = slack.channels_created()
    assert created.is_private
    assert IncidentChannel.objects.get(incident=incident).channel_id == created.id


def test_a_taken_name_gets_a_suffix(slack, clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM, title="DB down")
    base = f"inc-{incident.number}-db-down"
    # Someone made the channel by hand before the worker got to it.
    slack.add_channel(base)
    work(clock)
    [created] = slack.channels_created()
    assert created.name == f"{base}-2"
    row = IncidentChannel.objects.get(incident=incident)
    assert (row.name, row.channel_id) == (created.name, created.id)


def test_a_channel_made_before_a_worker_died_is_adopted_not_duplicated(
    slack, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM, title="DB down")
    create = SlackCall.objects.get(key=f"channel:{incident.pk}")
    # A worker claimed the row and Slack made the channel, but the worker died before it
    # stored the answer: the row is still "sending", the channel id unknown.
    outbox.calls_dispatch_due(enqueue=lambda ids: None)
    SlackCall.objects.filter(pk=create.pk).update(state="sending", claimed_at=clock.now)
    from slack_sdk import WebClient

    WebClient(token=slack.token, base_url=slack.api_url).conversations_create(
        name=f"inc-{incident.number}-db-down"
    )
    cache.clear()  # the bot's id is looked up afresh, as after a restart
    clock.advance(minutes=5)
    outbox.calls_rescue_stuck(enqueue=lambda ids: None)
    work(clock)

    [created] = slack.channels_created()
    assert created.name == f"inc-{incident.number}-db-down"
    assert IncidentChannel.objects.get(incident=incident).channel_id == created.id
    assert len(slack.calls_to("auth.test")) == 1


def test_rate_limited_create_waits_as_asked_and_makes_one_channel(
    slack, clock, django_capture_on_commit_callbacks
):
    slack.rate_limit_next(retry_after=7, method="conversations.create", times=2)
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM)
    outbox.calls_dispatch_due(enqueue=lambda ids: None)
    create = SlackCall.objects.get(key=f"channel:{incident.pk}")
    assert outbox.call_send(call_id=create.pk) == "retry"
    create.refresh_from_db()
    assert create.due_at == clock.now + timedelta(seconds=7)
    work(clock)
    assert len(slack.calls_to("conversations.create")) == 3
    assert len(slack.channels_created()) == 1
    create.refresh_from_db()
    assert (create.state, create.rate_limits) == ("sent", 2)


def test_without_a_token_nothing_is_queued(settings, clock, django_capture_on_commit_callbacks):
    settings.SLACK_BOT_TOKEN = ""
    with django_capture_on_commit_callbacks(execute=True):
        declare(actor=SYSTEM)
    assert not SlackCall.objects.exists()
    assert not IncidentChannel.objects.exists()


def test_the_incident_page_shows_the_channel(
    slack, clock, signed_in, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="DB down")
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert f"Channel #inc-{incident.number}-db-down is being created…" in page

    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert (
        f'<a href="https://slack.com/app_redirect?channel={channel_id}" id="slack-channel-link">'
        f"#inc-{incident.number}-db-down</a>"
    ) in page


def test_the_incident_page_shows_a_failed_channel(
    slack, clock, signed_in, responder, django_capture_on_commit_callbacks
):
    slack.fail_next("restricted_action", method="conversations.create")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="DB down")
    work(clock)
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert "could not be created: restricted_action" in page


def test_the_incident_page_says_when_slack_is_not_connected(settings, signed_in, responder):
    settings.SLACK_BOT_TOKEN = ""
    incident = declare(actor=responder)
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert "Slack is not connected" in page


def link(user, slack_user_id, clock):
    SlackUserLink.objects.create(
        user=user, slack_user_id=slack_user_id, source="email", linked_at=clock.now
    )


def test_someone_paged_by_hand_is_invited_without_waiting_for_a_change(
    slack, clock, responder, outsider, django_capture_on_commit_callbacks
):
    from oncall.services import paging_by_hand

    slack.add_user("U0OTTO", "otto@example.com")
    link(outsider, "U0OTTO", clock)
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    assert "U0OTTO" not in slack.members_of(channel_id)

    with django_capture_on_commit_callbacks(execute=True):
        paging_by_hand.page_user_for_incident(incident=incident, user=outsider, actor=responder)
    work(clock)
    assert "U0OTTO" in slack.members_of(channel_id)


def test_two_role_changes_committed_together_post_two_notices(
    slack, clock, responder, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.COMMANDER, user=commander
        )
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.COMMANDER, user=responder
        )
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    assert [m.text for m in slack.messages_in(channel_id) if not m.blocks] == [
        "Rosa Responder made Cole Commander incident commander",
        "Rosa Responder assumed command",
    ]


def test_rows_waiting_for_the_channel_look_again_after_30_seconds_not_2(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    slack.rate_limit_next(retry_after=120, method="conversations.create")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
        services.incident_acknowledge(incident=incident, actor=responder)
    outbox.calls_dispatch_due(enqueue=lambda ids: None)
    create = SlackCall.objects.get(key=f"channel:{incident.pk}")
    assert outbox.call_send(call_id=create.pk) == "retry"  # waits out Slack's 120 s
    notice = SlackCall.objects.get(kind=notices.NOTICE)
    assert outbox.call_send(call_id=notice.pk) == "waiting"
    notice.refresh_from_db()
    # Creating the channel will wake it; until then it does not keep a worker busy.
    assert notice.due_at >= clock.now + timedelta(seconds=30)


def test_a_row_that_finds_the_channel_being_created_looks_again_soon(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    # The creation is under way (handed to a worker): its wake-up may come while this row is
    # itself being sent and so miss it, so the row does not wait the long backstop.
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
        services.incident_acknowledge(incident=incident, actor=responder)
    outbox.calls_dispatch_due(enqueue=lambda ids: None)
    assert SlackCall.objects.get(key=f"channel:{incident.pk}").state == "queued"
    notice = SlackCall.objects.get(kind=notices.NOTICE)
    assert outbox.call_send(call_id=notice.pk) == "waiting"
    notice.refresh_from_db()
    assert notice.due_at == clock.now + timedelta(seconds=channels.CREATION_UNDER_WAY_WAIT)


def test_a_person_slack_refuses_to_invite_does_not_stall_the_setup(
    slack, clock, responder, commander, django_capture_on_commit_callbacks
):
    # Cole's Slack account was deactivated: the stub does not know him.
    link(commander, "U0COLE", clock)
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM, commander=commander)
    # Slack refuses a lone invalid user even with force=true.
    slack.fail_next("user_not_found", method="conversations.invite")
    work(clock)

    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    setup = SlackCall.objects.get(key=f"channel-setup:{incident.pk}")
    assert setup.state == "sent"
    assert setup.result["not_invited"] == {"U0COLE": "user_not_found"}
    assert "Cole Commander" in slack.topic_of(channel_id)
    assert len(slack.bookmarks_of(channel_id)) == 1

    # Later changes do not ask for Cole again, and invite the others.
    slack.add_user("U0ROSA", "rosa@example.com")
    link(responder, "U0ROSA", clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assign_role(
            incident=incident, actor=SYSTEM, role=RoleKind.SCRIBE, user=responder
        )
    work(clock)
    [_, second] = slack.calls_to("conversations.invite")
    assert second["users"] == "U0ROSA"
    assert "U0ROSA" in slack.members_of(channel_id)
    setup.refresh_from_db()
    assert setup.state == "sent"
    assert setup.result["not_invited"] == {"U0COLE": "user_not_found"}


def test_invalid_people_among_valid_ones_are_listed_and_the_others_invited(
    slack, clock, responder, commander, django_capture_on_commit_callbacks
):
    link(commander, "U0COLE", clock)  # deactivated: unknown to Slack
    slack.add_user("U0ROSA", "rosa@example.com")
    link(responder, "U0ROSA", clock)
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, commander=commander)
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    assert "U0ROSA" in slack.members_of(channel_id)
    setup = SlackCall.objects.get(key=f"channel-setup:{incident.pk}")
    assert (setup.state, setup.result["not_invited"]) == ("sent", {"U0COLE": "user_not_found"})


def test_the_tick_opens_a_channel_a_lost_subscriber_never_asked_for(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    from chatops import subscribers

    # Committed, but the process died before its on-commit subscribers ran.
    incident = declare(actor=responder, title="DB down")
    old = declare(actor=responder, title="Long ago")
    type(old).objects.filter(pk=old.pk).update(declared_at=clock.now - timedelta(days=2))
    assert subscribers.declared_catch_up() == []  # subscribers still have time
    clock.advance(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert subscribers.declared_catch_up() == [incident.pk]
    work(clock)
    [created] = slack.channels_created()
    assert created.name == f"inc-{incident.number}-db-down"
    assert not IncidentChannel.objects.filter(incident=old).exists()
    # Once it has its row, it is not found again.
    assert subscribers.declared_catch_up() == []
