"""`manage.py slack_check`: does the token work, and does it hold every scope Tocsin needs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chatops.services.setup import REQUIRED_SCOPES, connection_check_last


def run_check() -> str:
    out = StringIO()
    call_command("slack_check", stdout=out)
    return out.getvalue()


@pytest.fixture
def signed(settings):
    settings.SLACK_SIGNING_SECRET = "a-signing-secret"


def test_a_token_with_every_scope_passes(db, slack_stub, signed):
    out = run_check()

    assert "Workspace: Acme (https://acme.slack.com/)" in out
    assert "Bot user: tocsin (U0TOCSINBOT)" in out
    assert "Signing secret: set" in out
    assert "every scope Tocsin needs" in out
    assert len(slack_stub.calls_to("auth.test")) == 1


def test_missing_scopes_are_named_and_fail_the_check(db, slack_stub, signed):
    slack_stub.scopes = [s for s in slack_stub.scopes if s not in ("pins:read", "bookmarks:write")]
    out = StringIO()

    with pytest.raises(CommandError, match=r"2 scope\(s\) missing"):
        call_command("slack_check", stdout=out)

    assert f"pins:read: needed for {REQUIRED_SCOPES['pins:read']}" in out.getvalue()
    assert "bookmarks:write" in out.getvalue()
    assert "chat:write:" not in out.getvalue()


def test_no_token_says_slack_is_not_connected_and_which_secrets_to_set(db, settings):
    settings.SLACK_BOT_TOKEN = ""

    with pytest.raises(CommandError, match="not connected") as raised:
        run_check()

    assert "SLACK_BOT_TOKEN" in str(raised.value)
    assert "SLACK_SIGNING_SECRET" in str(raised.value)


def test_an_invalid_token_fails_the_check(db, slack_stub, settings, signed):
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"

    with pytest.raises(CommandError, match="invalid_auth"):
        run_check()


def test_slack_unreachable_fails_the_check(db, settings, unused_port, signed):
    settings.SLACK_BOT_TOKEN = "xoxb-anything"
    settings.SLACK_API_URL = f"http://127.0.0.1:{unused_port}/api/"

    with pytest.raises(CommandError, match="unreachable"):
        run_check()


def test_a_missing_signing_secret_fails_the_check(db, slack_stub, settings):
    settings.SLACK_SIGNING_SECRET = ""

    with pytest.raises(CommandError, match="SLACK_SIGNING_SECRET is not set"):
        run_check()


def test_the_check_is_kept_for_the_admin_page(db, slack_stub, signed):
    run_check()

    last = connection_check_last()
    assert last is not None
    assert last.ok
    assert last.team == "Acme"
