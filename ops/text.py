"""Text PostgreSQL can store, checked wherever text comes in.

JSON may carry "\\u0000" and unpaired surrogates ("\\ud800"), and a URL or a form may carry
%00. PostgreSQL's text and jsonb refuse NUL, and UTF-8 cannot encode a lone surrogate: either
reaches the database (or a hash, or a JSON answer echoing it) as an exception, so a 500. Every
intake refuses such text with a 4xx that names the field; machine payloads we must not lose are
cleaned instead (alerts.parsers).
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

UNSTORABLE_MESSAGE = "Text may not hold NUL characters or unpaired surrogates."
# How many bad places one error lists; a hostile document could hold thousands.
MAX_REPORTED = 10


def is_storable(text: str) -> bool:
    """No NUL and no lone surrogate: PostgreSQL stores it, UTF-8 encodes it."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """`text` safe to put in an error message, a log line or a JSON answer: NUL and unpaired
    surrogates written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")


def unstorable_paths(value: Any, path: str = "") -> list[str]:
    """Where in a decoded JSON document (objects, arrays, strings) a key or a string holds
    unstorable text, as dotted paths (`labels`, `items.2.name`); at most MAX_REPORTED."""
    found: list[str] = []
    _walk(value, path, found)
    return found


def _walk(value: Any, path: str, found: list[str]) -> None:
    if len(found) >= MAX_REPORTED:
        return
    if isinstance(value, str):
        if not is_storable(value):
            found.append(path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if not is_storable(name):
                # The key itself cannot be shown as it is: name its parent, escaped key after.
                found.append(f"{path}.{shown(name)}" if path else shown(name))
                continue
            _walk(item, f"{path}.{name}" if path else name, found)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, f"{path}.{index}" if path else str(index), found)


@deconstructible
class StorableTextValidator:
    """For form and serializer fields, strings or nested JSON values alike."""

    def __call__(self, value: Any) -> None:
        if unstorable_paths(value):
            raise ValidationError(UNSTORABLE_MESSAGE, code="unstorable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorableTextValidator)


validate_storable = StorableTextValidator()
