"""The Slack page for admins: connection, scopes, secrets, the outbox; checked by a task."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from chatops.models import CallState, SlackCall, SlackUserLink, TeamChannel
from config.celery import app as celery_app
from tests.factories import TeamFactory

PAGE = reverse("chatops:settings")
CHECK = reverse("chatops:settings-check")


@pytest.fixture
def eager_tasks():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def check_now(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CHECK)
    assert response.status_code == 302
    return client.get(PAGE)


def test_without_a_token_the_page_says_slack_is_not_connected(as_admin, settings):
    settings.SLACK_BOT_TOKEN = ""

    response = as_admin.get(PAGE)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Slack is not connected" in body
    assert "SLACK_BOT_TOKEN" in body
    assert "SLACK_SIGNING_SECRET" in body
    assert "Check now" not in body


def test_the_page_itself_never_calls_slack(as_admin, slack_stub):
    response = as_admin.get(PAGE)

    assert "Not checked yet." in response.content.decode()
    assert slack_stub.calls_to("auth.test") == []


def test_check_now_runs_auth_test_in_a_task_and_shows_the_answer(
    as_admin, slack_stub, eager_tasks, django_capture_on_commit_callbacks
):
    response = check_now(as_admin, django_capture_on_commit_callbacks)

    body = response.content.decode()
    assert len(slack_stub.calls_to("auth.test")) == 1
    assert "Connected with every scope Tocsin needs." in body
    assert "Acme" in body
    assert "U0TOCSINBOT" in body
    assert "Checking" not in body


def test_missing_scopes_are_listed(
    as_admin, slack_stub, eager_tasks, django_capture_on_commit_callbacks
):
    slack_stub.scopes = [s for s in slack_stub.scopes if s != "users:read.email"]

    body = check_now(as_admin, django_capture_on_commit_callbacks).content.decode()

    assert "1 scope missing" in body
    assert "<code>users:read.email</code>" in body


def test_a_revoked_token_is_shown(
    as_admin, slack_stub, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"

    body = check_now(as_admin, django_capture_on_commit_callbacks).content.decode()

    assert "invalid_auth" in body


def test_a_check_asked_for_but_not_run_yet_says_checking(
    as_admin, slack_stub, django_capture_on_commit_callbacks
):
    # No worker and no eager mode: the task waits in the broker, as it does for a few
    # seconds in production.
    body = check_now(as_admin, django_capture_on_commit_callbacks).content.decode()

    assert "Checking…" in body
    assert 'http-equiv="refresh"' in body
    assert slack_stub.calls_to("auth.test") == []


def test_settings_outbox_and_links_are_shown(
    as_admin, admin_user, slack_stub, settings, django_assert_max_num_queries
):
    settings.SLACK_SIGNING_SECRET = ""
    settings.SLACK_ANNOUNCEMENTS_CHANNEL = "C0ANNOUNCE"
    now = timezone.now()
    SlackCall.objects.create(key="notice:1", kind="notice", due_at=now, created_at=now)
    SlackCall.objects.create(
        key="channel:2",
        kind="channel",
        state=CallState.FAILED,
        last_error="channel_not_found",
        failures=1,
        due_at=now - timedelta(minutes=1),
        created_at=now,
    )
    SlackUserLink.objects.create(
        user=admin_user, slack_user_id="U0ADA", source="hand", linked_at=now
    )

    with django_assert_max_num_queries(8):
        body = as_admin.get(PAGE).content.decode()

    assert '<dd id="slack-signing-secret"><strong>not set</strong>' in body
    assert "<code>C0ANNOUNCE</code>" in body
    assert '<dd id="slack-outbox-depth">1</dd>' in body
    assert '<dd id="slack-linked-users">1</dd>' in body
    assert "channel_not_found" in body


def test_only_admins_see_the_page_or_check(client, manager, slack_stub):
    client.force_login(manager)

    assert client.get(PAGE).status_code == 403
    assert client.post(CHECK).status_code == 403
    assert slack_stub.calls_to("auth.test") == []


def test_the_nav_links_the_page_for_admins_only(client, admin_user, manager):
    client.force_login(admin_user)
    assert f'href="{PAGE}"' in client.get(reverse("incidents:list")).content.decode()

    client.force_login(manager)
    assert f'href="{PAGE}"' not in client.get(reverse("incidents:list")).content.decode()


def test_an_admin_sets_a_teams_channel(as_admin, slack_stub):
    team = TeamFactory(name="Payments", slug="payments")

    response = as_admin.post(
        reverse("chatops:settings-team-channel", args=["payments"]),
        {"channel_id": "C0PAYMENTS", "channel_name": "#payments"},
    )

    assert response.status_code == 302
    channel = TeamChannel.objects.get(team=team)
    assert (channel.channel_id, channel.channel_name) == ("C0PAYMENTS", "payments")
    assert 'value="C0PAYMENTS"' in as_admin.get(PAGE).content.decode()


def test_a_bad_channel_id_is_refused_with_the_reason(as_admin, slack_stub):
    team = TeamFactory(name="Payments", slug="payments")

    response = as_admin.post(
        reverse("chatops:settings-team-channel", args=["payments"]),
        {"channel_id": "#payments"},
    )

    assert response.status_code == 400
    assert "A Slack channel id looks like C0123ABCD" in response.content.decode()
    assert not TeamChannel.objects.filter(team=team).exists()


def test_an_empty_channel_id_forgets_the_teams_channel(as_admin, admin_user, slack_stub):
    team = TeamFactory(name="Payments", slug="payments")
    TeamChannel.objects.create(team=team, channel_id="C0PAYMENTS")

    as_admin.post(reverse("chatops:settings-team-channel", args=["payments"]), {"channel_id": ""})

    assert not TeamChannel.objects.filter(team=team).exists()


def test_only_admins_set_team_channels(client, manager, slack_stub):
    team = TeamFactory(name="Payments", slug="payments")
    client.force_login(manager)

    response = client.post(
        reverse("chatops:settings-team-channel", args=["payments"]), {"channel_id": "C0PAYMENTS"}
    )

    assert response.status_code == 403
    assert not TeamChannel.objects.filter(team=team).exists()
