"""The live announcement: posted once per place, edited in place, never blocking the incident."""

from datetime import timedelta

import pytest

from accounts.actors import SYSTEM
from chatops import interactions
from chatops.models import Announcement, IncidentChannel, SlackCall
from chatops.services import outbox
from chatops.services.announcements import EDIT_DELAY
from incidents import services
from incidents.models import RoleKind, Status
from tests.chatops.channel_support import work, work_once
from tests.factories import ServiceFactory, declare, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(slack_stub, settings, clock):
    settings.BASE_URL = "https://tocsin.example.com"
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = slack_stub.add_channel(
        "announcements", bot_is_member=True
    )
    return slack_stub


def fields_of(blocks):
    [section] = [b for b in blocks if b["type"] == "section" and "fields" in b]
    return {
        f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1] for f in section["fields"]
    }


def elements_of(blocks):
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_announcement_is_posted_in_both_places_with_state_and_buttons(
    slack, clock, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(
            title="Checkout is failing", commander=commander, services=[ServiceFactory(name="api")]
        )
    clock.advance(minutes=5)
    work(clock)

    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    for place, where in (("incident", channel_id), ("announcements", slack.team_id)):
        announcement = Announcement.objects.get(incident=incident, place=place)
        if place == "announcements":
            where = announcement.channel_id
        message = slack.message(where, announcement.ts)
        assert message is not None
        assert message.text == (
            f"[SEV2] INC-{incident.number}: Checkout is failing · Detected · "
            "Commander: Cole Commander"
        )
        assert message.blocks[0]["text"]["text"] == f"INC-{incident.number}: Checkout is failing"
        assert fields_of(message.blocks) == {
            "Severity": "SEV2",
            "Status": "Detected",
            "Commander": "Cole Commander",
            "Services": "api",
            # When it began, shown in each reader's time zone: true however long it stays open.
            "Duration": (
                f"Open since <!date^{int(incident.declared_at.timestamp())}"
                f"^{{date_short_pretty}} {{time}}|{incident.declared_at:%Y-%m-%d %H:%M} UTC>"
            ),
        }
        buttons = {e["action_id"]: e for e in elements_of(message.blocks)}
        assert set(buttons) == {
            interactions.ANNOUNCEMENT_ACK,
            interactions.ANNOUNCEMENT_RESOLVE,
            interactions.ANNOUNCEMENT_SEVERITY,
            interactions.ANNOUNCEMENT_JOIN,
        }
        assert buttons[interactions.ANNOUNCEMENT_ACK]["value"] == str(incident.number)
        assert buttons[interactions.ANNOUNCEMENT_JOIN]["value"] == str(incident.number)
        select = buttons[interactions.ANNOUNCEMENT_SEVERITY]
        assert [o["value"] for o in select["options"]] == ["SEV1", "SEV2", "SEV3", "SEV4"]
        assert select["initial_option"]["value"] == "SEV2"
    assert len([c for c in slack.calls_to("chat.postMessage") if c.get("blocks")]) == 2
    assert slack.calls_to("chat.update") == []


def test_a_burst_of_changes_while_queued_sends_one_edit_with_the_final_state(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    announcement = Announcement.objects.get(incident=incident, place="incident")
    row = SlackCall.objects.get(key=f"announcement:{incident.pk}:incident")

    for status in (
        Status.ACKNOWLEDGED,
        Status.INVESTIGATING,
        Status.IDENTIFIED,
        Status.MONITORING,
        Status.INVESTIGATING,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            services.incident_set_status(incident=incident, actor=responder, status=status)
    row.refresh_from_db()
    # The edit waits a moment after the first change, for more.
    assert (row.state, row.due_at) == ("pending", clock.now + timedelta(seconds=EDIT_DELAY))
    clock.advance(seconds=EDIT_DELAY)
    work_once()

    [edit] = slack.edits_of(announcement.channel_id, announcement.ts)
    assert fields_of(edit["blocks"])["Status"] == "Investigating"
    assert "· Investigating ·" in edit["text"]
    # The worker's task for the row finds nothing more to do.
    assert outbox.call_send(call_id=row.pk) == "skipped"


def test_changes_edit_the_announcement_and_post_notices(
    slack, clock, responder, commander, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV1")
        )
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_assign_role(
            incident=incident, actor=responder, role=RoleKind.COMMANDER, user=commander
        )
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_post_update(incident=incident, actor=commander, message="Rolling back")
        services.incident_add_note(incident=incident, actor=commander, text="just a note")
    work(clock)

    notices = [m.text for m in slack.messages_in(channel_id) if not m.blocks]
    assert notices == [
        f"Rosa Responder acknowledged INC-{incident.number}",
        "Rosa Responder raised severity from SEV2 to SEV1",
        "Rosa Responder made Cole Commander incident commander",
    ]
    announcement = Announcement.objects.get(incident=incident, place="incident")
    blocks = slack.message(channel_id, announcement.ts).blocks
    assert fields_of(blocks)["Severity"] == "SEV1"
    assert fields_of(blocks)["Commander"] == "Cole Commander"
    assert fields_of(blocks)["Status"] == "Acknowledged"
    assert any("*Latest update:* Rolling back" in b.get("text", {}).get("text", "") for b in blocks)
    # Acknowledged: the Acknowledge button has gone.
    actions = {e["action_id"] for e in elements_of(blocks)}
    assert interactions.ANNOUNCEMENT_ACK not in actions
    assert len([m for m in slack.messages_in(channel_id) if m.blocks]) == 1


def test_notices_wait_for_the_channel(
    slack, settings, clock, responder, django_capture_on_commit_callbacks
):
    slack.rate_limit_next(retry_after=20, method="conversations.create")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
        services.incident_set_status(
            incident=incident, actor=responder, status=Status.INVESTIGATING
        )
    work_once()
    notice = SlackCall.objects.get(kind="channel.notice")
    assert notice.state == "pending"
    assert notice.last_error.startswith("waiting for the incident channel")
    assert [c["channel"] for c in slack.calls_to("chat.postMessage")] == [
        settings.SLACK_ANNOUNCEMENTS_CHANNEL
    ]

    work(clock)
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    texts = [m.text for m in slack.messages_in(channel_id)]
    assert "Rosa Responder changed status from detected to investigating" in texts


def test_slack_down_never_blocks_and_catches_up_once(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    slack.go_down()
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="Payments down")
    work_once()
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
    work_once()
    clock.advance(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=incident, actor=responder, resolution="restarted")
    work_once()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED
    assert slack.calls == []

    slack.come_back()
    clock.advance(minutes=10)  # past every backoff
    work(clock)

    [created] = slack.channels_created()
    assert IncidentChannel.objects.get(incident=incident).channel_id == created.id
    [announcement_message] = [m for m in slack.messages_in(created.id) if m.blocks]
    assert fields_of(announcement_message.blocks)["Status"] == "Resolved"
    assert fields_of(announcement_message.blocks)["Duration"] == "Resolved after 1m"
    # Posted once with the final state: no second post, nothing to edit.
    announcements = slack.calls_to("chat.postMessage")
    assert len([c for c in announcements if c.get("blocks")]) == 2  # incident + announcements
    assert elements_of(announcement_message.blocks)[0]["action_id"] == (
        interactions.ANNOUNCEMENT_JOIN
    )
    # Later changes edit that message.
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=incident, actor=responder)
    work(clock)
    assert fields_of(slack.messages_in(created.id)[0].blocks)["Status"] == "Investigating"
    assert len(slack.channels_created()) == 1


def test_a_private_incident_is_not_announced_publicly(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, private=True)
    work(clock)
    assert list(Announcement.objects.filter(incident=incident).values_list("place", flat=True)) == [
        "incident"
    ]
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    [posted] = slack.calls_to("chat.postMessage")
    assert posted["channel"] == channel_id


def test_a_merged_incident_says_where_it_went(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        merged = declare(actor=responder, title="Checkout slow")
        survivor = declare(actor=responder, title="Checkout down")
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_merge(incident=merged, into=survivor, actor=responder)
    work(clock)
    announcement = Announcement.objects.get(incident=merged, place="announcements")
    message = slack.message(announcement.channel_id, announcement.ts)
    url = f"https://tocsin.example.com/incidents/{survivor.number}/"
    assert any(
        f"Merged into <{url}|INC-{survivor.number}>" in b.get("text", {}).get("text", "")
        for b in message.blocks
    )
    assert message.text.endswith(f"merged into INC-{survivor.number}")
    channel_id = IncidentChannel.objects.get(incident=merged).channel_id
    assert any(
        m.text.startswith(f"This incident was merged into <{url}|INC-{survivor.number}>")
        for m in slack.messages_in(channel_id)
    )


def test_announcement_refresh_is_there_for_other_helpers(
    slack, clock, django_capture_on_commit_callbacks
):
    from chatops.services.announcements import announcement_refresh

    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=SYSTEM)
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        announcement_refresh(incident.pk)
    work(clock)
    assert len(slack.calls_to("chat.update")) == 2


def test_a_title_edited_on_the_web_edits_the_announcements(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="Checkout is failing")
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update_details(
            incident=incident, actor=responder, title="Checkout fails in the EU"
        )
    work(clock)
    for place in ("incident", "announcements"):
        announcement = Announcement.objects.get(incident=incident, place=place)
        message = slack.message(announcement.channel_id, announcement.ts)
        assert message.blocks[0]["text"]["text"] == (
            f"INC-{incident.number}: Checkout fails in the EU"
        )
        assert "Checkout fails in the EU" in message.text


def test_an_incident_made_private_leaves_the_announcements_channel(
    slack, settings, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="Credentials leaked")
    work(clock)
    public = Announcement.objects.get(incident=incident, place="announcements")
    assert slack.message(public.channel_id, public.ts) is not None

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update_details(incident=incident, actor=SYSTEM, private=True)
    work(clock)

    [deleted] = slack.calls_to("chat.delete")
    assert (deleted["channel"], deleted["ts"]) == (public.channel_id, public.ts)
    assert slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL) == []
    assert not Announcement.objects.filter(incident=incident, place="announcements").exists()
    # Its channel cannot follow: it says so.
    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    assert any(
        "now private" in m.text and "stays public" in m.text for m in slack.messages_in(channel_id)
    )
    # Later changes stay out of the announcements channel.
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
    work(clock)
    assert slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL) == []


def test_person_written_text_arrives_escaped(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    nasty = "<!channel> see <https://evil.example|Acknowledge> & more"
    escaped = "&lt;!channel&gt; see &lt;https://evil.example|Acknowledge&gt; &amp; more"
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title=nasty)
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=incident, actor=responder, resolution=nasty)
    work(clock)

    channel_id = IncidentChannel.objects.get(incident=incident).channel_id
    texts = [c["text"] for c in slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")]
    assert texts
    assert not any("<!channel>" in text or "<https://evil" in text for text in texts)
    announcement = Announcement.objects.get(incident=incident, place="incident")
    assert escaped in slack.message(channel_id, announcement.ts).text
    [notice] = [m.text for m in slack.messages_in(channel_id) if not m.blocks]
    assert notice == f"Rosa Responder resolved INC-{incident.number}: {escaped}"


def test_resolve_asks_for_confirmation(slack, clock, responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="DB down")
    work(clock)
    announcement = Announcement.objects.get(incident=incident, place="incident")
    message = slack.message(announcement.channel_id, announcement.ts)
    [resolve] = [
        e
        for e in elements_of(message.blocks)
        if e["action_id"] == interactions.ANNOUNCEMENT_RESOLVE
    ]
    confirm = resolve["confirm"]
    assert confirm["title"]["text"] == f"Resolve INC-{incident.number}?"
    assert f"INC-{incident.number}" in confirm["text"]["text"]
    assert "DB down" in confirm["text"]["text"]
    assert confirm["confirm"]["text"] == "Resolve"
    assert confirm["deny"]["text"] == "Cancel"
    assert confirm["style"] == "danger"


def test_an_announcement_deleted_in_slack_is_posted_again(
    slack, clock, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    old = Announcement.objects.get(incident=incident, place="incident")
    slack.fail_next("message_not_found", method="chat.update")
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_acknowledge(incident=incident, actor=responder)
    work(clock)

    row = SlackCall.objects.get(key=f"announcement:{incident.pk}:incident")
    assert (row.state, row.attempts) == ("sent", 1)
    new = Announcement.objects.get(incident=incident, place="incident")
    assert new.ts and new.ts != old.ts
    message = slack.message(new.channel_id, new.ts)
    assert fields_of(message.blocks)["Status"] == "Acknowledged"


def test_only_the_chosen_severities_are_announced_and_a_raised_one_joins_them(
    slack, settings, clock, responder, django_capture_on_commit_callbacks
):
    settings.SLACK_ANNOUNCE_SEVERITIES = ["SEV1", "SEV2"]
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, severity=severity("SEV4"))
    work(clock)
    assert slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL) == []
    # Its own channel announces it whatever the severity.
    assert Announcement.objects.filter(incident=incident, place="incident").exclude(ts="")

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV2")
        )
    work(clock)
    [posted] = slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL)
    assert fields_of(posted.blocks)["Severity"] == "SEV2"

    # Lowered again, it stays announced and says so, rather than vanish.
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV4")
        )
    work(clock)
    [posted] = slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL)
    assert fields_of(posted.blocks)["Severity"] == "SEV4"
