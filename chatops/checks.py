"""System checks of the Slack settings: a mistake fails at startup, not in a worker."""

from string import Formatter
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

# What SLACK_CHANNEL_NAME_TEMPLATE may name (chatops.services.channels.channel_name).
NAME_FIELDS = frozenset({"number", "slug"})


def check_channel_name_template(**kwargs: Any) -> list[CheckMessage]:
    """The template is formatted for every incident's channel: a field it cannot fill would
    leave each incident without one, found only in a worker's log."""
    template = settings.SLACK_CHANNEL_NAME_TEMPLATE
    hint = 'Use {number} and {slug} only, e.g. "inc-{number}-{slug}".'
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in Formatter().parse(template)
            if name is not None
        ]
    except ValueError as error:
        return [_error(f"SLACK_CHANNEL_NAME_TEMPLATE {template!r} is malformed: {error}.", hint)]
    bad = sorted({name or "{}" for name, spec, conversion in fields if name not in NAME_FIELDS})
    if bad:
        return [_error(f"SLACK_CHANNEL_NAME_TEMPLATE {template!r} names {', '.join(bad)}.", hint)]
    if any(spec or conversion for _, spec, conversion in fields):
        return [
            _error(
                f"SLACK_CHANNEL_NAME_TEMPLATE {template!r} formats its fields "
                "(`!r`, `:>5`…), which channel names do not need.",
                hint,
            )
        ]
    return []


def _error(message: str, hint: str) -> Error:
    return Error(message, hint=hint, id="tocsin.E101")


def connect() -> None:
    register(check_channel_name_template)
