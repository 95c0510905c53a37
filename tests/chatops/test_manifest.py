"""`manage.py slack_manifest`: the Slack app manifest, so nobody types a URL by hand."""

from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from chatops.services.setup import BOT_EVENTS, REQUIRED_SCOPES


def manifest_for(base_url: str) -> dict:
    out = StringIO()
    call_command("slack_manifest", "--base-url", base_url, stdout=out)
    return yaml.safe_load(out.getvalue())


def test_manifest_holds_the_three_urls():
    manifest = manifest_for("https://tocsin.example.com")

    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/incident"
    assert command["url"] == "https://tocsin.example.com/slack/commands"
    assert command["should_escape"] is True
    assert command["usage_hint"]
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://tocsin.example.com/slack/interactions",
    }
    assert settings["event_subscriptions"]["request_url"] == (
        "https://tocsin.example.com/slack/events"
    )


def test_manifest_asks_for_every_required_scope():
    manifest = manifest_for("https://tocsin.example.com")

    assert manifest["oauth_config"]["scopes"]["bot"] == list(REQUIRED_SCOPES)
    for scope in ("commands", "chat:write", "channels:manage", "groups:write", "pins:read"):
        assert scope in manifest["oauth_config"]["scopes"]["bot"]


def test_manifest_subscribes_to_pins_and_reactions():
    events = manifest_for("https://tocsin.example.com")["settings"]["event_subscriptions"]

    assert events["bot_events"] == list(BOT_EVENTS)
    assert {"pin_added", "pin_removed", "reaction_added", "reaction_removed"} <= set(BOT_EVENTS)


def test_manifest_has_a_bot_user_and_a_name():
    manifest = manifest_for("https://tocsin.example.com")

    assert manifest["display_information"]["name"] == "Tocsin"
    assert manifest["features"]["bot_user"]["display_name"] == "tocsin"


def test_trailing_slash_and_path_prefix_are_kept_tidy():
    manifest = manifest_for("https://example.com/tocsin/")

    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "https://example.com/tocsin/slack/events"
    )


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("http://tocsin.example.com", "https"),
        ("tocsin.example.com", "https"),
        ("https://", "host name"),
        ("https://tocsin.example.com/?x=1", "without a query"),
        ("https://tocsin.example.com/#top", "without a query"),
        ("https://tocsin.example.com/slack/events", "not a Slack endpoint"),
        ("https://tocsin.example.com:port", "Port"),
    ],
)
def test_a_base_url_slack_cannot_use_is_refused_with_the_reason(base_url, says):
    out = StringIO()
    with pytest.raises(CommandError, match=says):
        call_command("slack_manifest", "--base-url", base_url, stdout=out)
    assert out.getvalue() == ""
