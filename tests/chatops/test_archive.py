"""Incident channels are archived some days after resolution, and unarchived on reopen."""

from datetime import timedelta

import pytest

from chatops.models import IncidentChannel, SlackCall
from chatops.services import channels
from incidents import services
from incidents.models import Status
from tests.chatops.channel_support import work
from tests.factories import declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(slack_stub, settings, clock):
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = ""
    settings.SLACK_ARCHIVE_AFTER_DAYS = 3
    return slack_stub


@pytest.fixture
def resolved(slack, clock, responder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder)
    work(clock)
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_resolve(incident=incident, actor=responder)
    work(clock)
    incident.refresh_from_db()
    return incident


def test_archived_after_the_configured_days(slack, clock, resolved):
    channel = IncidentChannel.objects.get(incident=resolved)
    assert channel.archive_due_at == resolved.resolved_at + timedelta(days=3)

    clock.now = resolved.resolved_at + timedelta(hours=71)
    assert channels.channels_archive_due() == 0
    clock.advance(hours=1)
    assert channels.channels_archive_due() == 1
    work(clock)
    assert slack.is_archived(channel.channel_id)
    channel.refresh_from_db()
    assert channel.archived_at == clock.now
    # The next ticks find nothing more to do.
    assert channels.channels_archive_due() == 0
    assert len(slack.calls_to("conversations.archive")) == 1


def test_reopen_before_the_timer_stops_it(
    slack, clock, resolved, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=resolved, actor=responder)
    clock.advance(hours=96)
    assert channels.channels_archive_due() == 0
    assert IncidentChannel.objects.get(incident=resolved).archive_due_at is None


def test_reopen_unarchives_before_anything_posts(
    slack, clock, resolved, responder, django_capture_on_commit_callbacks
):
    clock.advance(hours=72)
    channels.channels_archive_due()
    work(clock)
    channel_id = IncidentChannel.objects.get(incident=resolved).channel_id
    assert slack.is_archived(channel_id)

    with django_capture_on_commit_callbacks(execute=True):
        services.incident_reopen(incident=resolved, actor=responder)
        services.incident_set_status(incident=resolved, actor=responder, status=Status.IDENTIFIED)
    work(clock)
    assert not slack.is_archived(channel_id)
    methods = [c.method for c in slack.calls]
    unarchived = methods.index("conversations.unarchive")
    archived = methods.index("conversations.archive")
    # Nothing was tried in the archived channel: every call after archiving waited.
    assert all(c.ok for c in slack.calls[archived:])
    assert methods[unarchived + 1 :]
    assert IncidentChannel.objects.get(incident=resolved).archived_at is None
    texts = [m.text for m in slack.messages_in(channel_id)]
    assert any("reopened" in t for t in texts)
    assert any("changed status from investigating to identified" in t for t in texts)
    assert not SlackCall.objects.filter(state="failed").exists()


def test_after_archiving_nothing_more_is_tried_in_the_channel(
    slack, clock, resolved, django_capture_on_commit_callbacks
):
    from chatops.services.announcements import announcement_refresh

    clock.advance(hours=72)
    channels.channels_archive_due()
    work(clock)
    calls = len(slack.calls)
    with django_capture_on_commit_callbacks(execute=True):
        announcement_refresh(resolved.pk)
    work(clock)
    assert len(slack.calls) == calls
    assert SlackCall.objects.get(key=f"announcement:{resolved.pk}:incident").state == "cancelled"
