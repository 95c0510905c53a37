"""SEV3 notifies the team's Slack channel instead of paging, once per incident."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.actors import SYSTEM
from chatops.models import SlackCall, TeamChannel
from chatops.services.channels import team_channel_set
from incidents import services
from tests.chatops.channel_support import work
from tests.factories import TeamFactory, declare, severity

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack(slack_stub, settings, clock):
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = ""
    settings.BASE_URL = "https://tocsin.example.com"
    return slack_stub


@pytest.fixture
def team(slack, admin_user):
    team = TeamFactory(name="Payments")
    channel_id = slack.add_channel("payments")
    team_channel_set(team=team, channel_id=channel_id, channel_name="#payments", actor=admin_user)
    return team


def team_messages(slack, team):
    channel_id = TeamChannel.objects.get(team=team).channel_id
    return [m.text for m in slack.messages_in(channel_id)]


def test_a_sev3_tells_the_team_channel_once(
    slack, clock, team, responder, django_capture_on_commit_callbacks
):
    # Without chat:write.public the bot must be in a channel to post there.
    slack.scopes.remove("chat:write.public")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, title="Slow refunds", team=team, severity_name="SEV3")
    work(clock)
    [text] = team_messages(slack, team)
    url = f"https://tocsin.example.com/incidents/{incident.number}/"
    assert text.startswith(f":rotating_light: <{url}|INC-{incident.number}>: SEV3 Slow refunds.")
    # The bot was not in the public channel: it joined and posted.
    assert len(slack.calls_to("conversations.join")) == 1

    # Up and down again: still once.
    for name in ("SEV2", "SEV3"):
        with django_capture_on_commit_callbacks(execute=True):
            services.incident_set_severity(
                incident=incident, actor=responder, severity=severity(name)
            )
        work(clock)
    assert len(team_messages(slack, team)) == 1


def test_lowered_to_sev3_later_tells_the_team_channel(
    slack, clock, team, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, team=team, severity_name="SEV2")
    work(clock)
    assert team_messages(slack, team) == []
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_set_severity(
            incident=incident, actor=responder, severity=severity("SEV3")
        )
    work(clock)
    assert len(team_messages(slack, team)) == 1


def test_a_private_sev3_keeps_its_title_out_of_the_team_channel(
    slack, clock, team, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        declare(
            actor=responder, title="Secret thing", team=team, severity_name="SEV3", private=True
        )
    work(clock)
    [text] = team_messages(slack, team)
    assert "Secret thing" not in text
    assert "a private SEV3 incident" in text


def test_setting_a_team_channel_needs_catalog_rights(responder, admin_user):
    team = TeamFactory(name="Search")
    with pytest.raises(PermissionDenied):
        team_channel_set(team=team, channel_id="C0SEARCH", actor=responder)
    with pytest.raises(ValidationError):
        team_channel_set(team=team, channel_id="#search", actor=admin_user)
    team_channel_set(team=team, channel_id="C0SEARCH", channel_name="#search", actor=SYSTEM)
    assert TeamChannel.objects.get(team=team).channel_name == "search"
    team_channel_set(team=team, channel_id="", actor=admin_user)
    assert not TeamChannel.objects.filter(team=team).exists()


def test_a_sev3_of_a_team_without_a_channel_goes_to_the_announcements_channel(
    slack, settings, clock, signed_in, responder, django_capture_on_commit_callbacks
):
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = slack.add_channel("announcements", bot_is_member=True)
    search = TeamFactory(name="Search")
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(
            actor=responder, title="Slow <b>search</b>", team=search, severity_name="SEV3"
        )
    work(clock)
    [notice] = [
        m.text
        for m in slack.messages_in(settings.SLACK_ANNOUNCEMENTS_CHANNEL)
        if m.text.startswith(":rotating_light:")
    ]
    assert "SEV3 Slow &lt;b&gt;search&lt;/b&gt;. For Search; nobody was paged." in notice
    assert "Search has no team channel set" in notice
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert "No team channel set: Search has none, so the announcements channel was told." in page


def test_without_any_channel_the_panel_says_nobody_was_told(
    slack, clock, signed_in, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, team=TeamFactory(name="Search"), severity_name="SEV3")
    work(clock)
    assert not SlackCall.objects.filter(kind="channel.team_notice").exists()
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert "No team channel set: Search has none, so nobody was told in Slack." in page


def test_a_team_with_a_channel_gets_no_note(
    slack, clock, team, signed_in, responder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = declare(actor=responder, team=team, severity_name="SEV3")
    page = signed_in.get(incident.get_absolute_url()).content.decode()
    assert "No team channel set" not in page


def test_the_team_notice_escapes_the_team_and_title(
    slack, clock, admin_user, responder, django_capture_on_commit_callbacks
):
    team = TeamFactory(name="<!here> ops")
    team_channel_set(team=team, channel_id=slack.add_channel("ops"), actor=admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        declare(actor=responder, title="<!channel> down", team=team, severity_name="SEV3")
    work(clock)
    [text] = team_messages(slack, team)
    assert "&lt;!channel&gt; down. For &lt;!here&gt; ops;" in text
