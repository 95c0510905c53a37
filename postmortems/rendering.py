"""Postmortem templates: rendered in a sandbox, failing with messages a template author can act on.

Templates are written by admins in the browser, so they run in the sandbox of
postmortems/sandbox.py with nothing in reach but the plain data `postmortems.context` builds
(dicts, lists, strings, numbers, dates), never a model instance or a setting. Undefined names
fail (`{{ settings }}` says it is undefined instead of printing nothing), a template cannot
include, import or extend anything, and a runaway one is stopped. Every failure comes back as
a `TemplateProblem` with the template's line, never as an exception page.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError

from postmortems import sandbox

# The file name Jinja gives a template compiled from a string; its frames carry it.
TEMPLATE_NAME = "<template>"
# A template producing more than this is a runaway loop, not a postmortem.
MAX_OUTPUT = 2_000_000
MAX_SOURCE = 100_000
# Names every template has besides its context (Jinja's, in the sandbox's safe versions).
GLOBALS = ("range", "dict", "cycler", "joiner")

_UNDEFINED_NAME = re.compile(r"^'(?P<name>[^']*)' is undefined$")


class TemplateProblem(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message, line)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message if self.line is None else f"Line {self.line}: {self.message}"


_ENV = sandbox.PostmortemEnvironment(
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@lru_cache(maxsize=32)
def _compile(source: str) -> Template:
    """Caller holds a sandbox.budget(): Jinja evaluates constant expressions as it compiles."""
    tree = _ENV.parse(source, name=TEMPLATE_NAME)
    return _ENV.from_string(_ENV.rewrite(tree))


def _compiled(source: str) -> Template:
    if len(source) > MAX_SOURCE:
        raise TemplateProblem(f"A template may be at most {MAX_SOURCE:,} characters long.")
    try:
        return _compile(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(error.message or str(error), error.lineno) from error
    except (RecursionError, SyntaxError, MemoryError) as error:
        # Jinja's parser and Python's compiler recurse once per level of nesting: a few
        # hundred brackets, blocks or chained operators are more than they can take.
        raise TemplateProblem(
            "The template nests too deeply to compile (brackets, blocks, or a long chain of "
            "operators or filters): split it with {% set %}."
        ) from error


def check_syntax(source: str) -> None:
    """Raise TemplateProblem if `source` does not compile, or names another file."""
    with sandbox.budget():
        _compiled(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """The template's output; TemplateProblem for anything that goes wrong in it."""
    with sandbox.budget():
        template = _compiled(source)
        out: list[str] = []
        size = 0
        try:
            for chunk in template.generate(**context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateProblem(
                        f"The template wrote more than {MAX_OUTPUT:,} characters and was stopped."
                    )
                out.append(chunk)
        except TemplateProblem:
            raise
        except RecursionError as error:
            raise TemplateProblem(
                "The template calls itself too deeply (a macro or block that never stops).",
                _template_line(),
            ) from error
        except Exception as error:
            # Whatever the template's own code raised (a division by zero, an undefined
            # name, a limit reached) is its author's to fix: a message with the line.
            raise TemplateProblem(_message(error, context), _template_line()) from error
    return _storable("".join(out))


def _storable(text: str) -> str:
    """`text` if PostgreSQL can store it: no NUL character, no lone surrogate (escapes such as
    '\\x00' or '\\ud800' in a template's strings make them)."""
    if "\x00" in text:
        raise TemplateProblem("The template wrote a NUL character, which no document can hold.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TemplateProblem(
            f"The template wrote a character that is not valid Unicode ({error.reason})."
        ) from error
    return text


def _message(error: BaseException, context: Mapping[str, Any]) -> str:
    if isinstance(error, sandbox.Overrun):
        return str(error)
    if isinstance(error, UndefinedError):
        text = error.message or str(error)
        match = _UNDEFINED_NAME.match(text)
        if match:
            names = ", ".join([*sorted(context), *GLOBALS])
            text += f". A postmortem template can use: {names}."
        return text
    text = getattr(error, "message", None) or str(error)
    if isinstance(error, TemplateSyntaxError | UndefinedError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _template_line() -> int | None:
    """The line of the template being rendered when the current exception was raised: Jinja
    rewrites tracebacks so that the template's frames carry its own line numbers."""
    traceback = sys.exc_info()[2]
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TEMPLATE_NAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
