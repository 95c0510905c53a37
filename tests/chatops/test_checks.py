"""The Slack settings are checked at startup (`manage.py check`), not found out in a worker."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from chatops.checks import check_channel_name_template


@pytest.mark.parametrize(
    "template",
    ["inc-{number}-{slug}", "Incident_{number}_{slug}", "{slug}-{number}", "inc-{number}"],
)
def test_templates_of_number_and_slug_pass(settings, template):
    settings.SLACK_CHANNEL_NAME_TEMPLATE = template
    assert check_channel_name_template() == []


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("inc-{id}-{slug}", "names id"),
        ("inc-{number}-{title}", "names title"),
        ("inc-{}", "names {}"),
        ("inc-{number.real}", "names number.real"),
        ("inc-{number", "malformed"),
        ("inc-{number:>5}", "formats its fields"),
        ("inc-{slug!r}", "formats its fields"),
    ],
)
def test_other_templates_are_an_error(settings, template, says):
    settings.SLACK_CHANNEL_NAME_TEMPLATE = template
    [error] = check_channel_name_template()
    assert error.id == "tocsin.E101"
    assert says in error.msg


def test_a_bad_template_fails_manage_py_check(settings):
    settings.SLACK_CHANNEL_NAME_TEMPLATE = "inc-{id}"
    with pytest.raises(SystemCheckError, match="SLACK_CHANNEL_NAME_TEMPLATE"):
        call_command("check")
