"""Log formatting: one JSON object per line (LOG_FORMAT=json), secrets kept out of every line.

Some secrets travel in URL paths because their senders cannot do otherwise: calendar apps
fetch a feed's address, a page's one-click ack link is a link, and a few webhook senders
cannot set a header. Any route whose parameter is named `token` is such a path, and every
path matching one is logged with the token replaced by `***`: Django's request warnings, the
development server's lines, our own, and gunicorn's (config/gunicorn_logging.py).
"""

import functools
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

# Attributes every LogRecord has; anything else was passed in `extra` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

SECRET_PARAMETER = "token"  # noqa: S105 (the name of a route parameter)
REDACTED = "***"
# Django's `str` converter matches up to the next slash; in a log line the path also ends at
# whitespace, a quote, a query or a fragment, or an escaped character of a JSON string.
_PATH_SEGMENT = "[^/]+"
_SEGMENT_IN_TEXT = r"""[^/\s?#"'\\]+"""


def _secret_routes(patterns: list[URLPattern | URLResolver], prefix: str) -> list[str]:
    routes = []
    for entry in patterns:
        regex = entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            routes += _secret_routes(entry.url_patterns, prefix + regex)
        elif f"(?P<{SECRET_PARAMETER}>" in regex:
            routes.append(prefix + regex.removesuffix(r"\Z"))
    return routes


@functools.cache
def _secret_paths(urlconf: str) -> tuple[re.Pattern[str], ...]:
    group = f"(?P<{SECRET_PARAMETER}>{_PATH_SEGMENT})"
    wide = f"(?P<{SECRET_PARAMETER}>{_SEGMENT_IN_TEXT})"
    return tuple(
        re.compile("/" + route.replace(group, wide))
        for route in _secret_routes(get_resolver(urlconf).url_patterns, "")
    )


def _hide(match: re.Match[str]) -> str:
    start, end = match.span(SECRET_PARAMETER)
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + REDACTED + whole[end - offset :]


def redact(text: str) -> str:
    """`text` with the token of every secret-bearing path in it replaced by ***."""
    # Before Django is set up (gunicorn's master process, start-up) no request has been
    # served, so there is no path to hide yet.
    if not (settings.configured and apps.ready):
        return text
    for pattern in _secret_paths(settings.ROOT_URLCONF):
        if pattern.search(text):
            text = pattern.sub(_hide, text)
    return text


class RedactingFormatter(logging.Formatter):
    """The text console format, with secrets taken out of paths (traceback included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                plain = value is None or isinstance(value, str | int | float | bool)
                entry[key] = value if plain else repr(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # The whole line: a request's repr in `extra` shows its path too.
        return redact(json.dumps(entry))


class RedactingFilter(logging.Filter):
    """Takes secrets out of a record's message, for loggers whose handlers are not ours
    (gunicorn's access and error logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = redact(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


class ClientErrorFilter(logging.Filter):
    """A 4xx answer is one line, without a traceback.

    Django logs the exception behind a 403 (PermissionDenied) or 400 (BadRequest,
    SuspiciousOperation) with its traceback, at WARNING: a refusal is the code working, and
    a crawler of forbidden pages would fill the log with stacks. Its message says why.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500 and record.exc_info:
            error = record.exc_info[1]
            # Escaped as Django escapes the path: one record, one line.
            reason = str(error).encode("unicode_escape").decode("ascii") if error else ""
            if reason and reason not in record.getMessage():
                record.msg, record.args = f"{record.getMessage()} ({reason})", None
            record.exc_info, record.exc_text = None, None
        return True
