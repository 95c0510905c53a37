"""Postmortem templates: Jinja2 in a sandbox, and errors a template author can act on.

Templates are written by admins in the browser, so they run in Jinja2's
`SandboxedEnvironment` with nothing in reach but the plain data `postmortems.context` builds:
dicts, lists, strings, numbers and datetimes, never a model instance or a setting. Undefined
names fail (`{{ settings }}` says it is undefined instead of printing nothing), and a template
cannot include, import or extend anything. Every failure comes back as a `TemplateProblem`
with the template's line, never as an exception page.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.exceptions import TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

# The file name Jinja gives a template compiled from a string; its frames carry it.
TEMPLATE_NAME = "<template>"
# A template producing more than this is a runaway loop, not a postmortem.
MAX_OUTPUT = 2_000_000


@dataclass(frozen=True)
class TemplateProblem(Exception):
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return self.message if self.line is None else f"Line {self.line}: {self.message}"


class _NoFiles(BaseLoader):
    def get_source(self, environment: Environment, template: str) -> Any:
        raise TemplateNotFound(
            f"{template} (postmortem templates cannot include, import or extend other files)"
        )


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=_NoFiles(),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


_ENV = _environment()


def check_syntax(source: str) -> None:
    """Raise TemplateProblem if `source` does not compile."""
    try:
        _ENV.parse(source, name=TEMPLATE_NAME)
    except TemplateSyntaxError as error:
        raise TemplateProblem(error.message or str(error), error.lineno) from error


def render(source: str, context: Mapping[str, Any]) -> str:
    """The template's output; TemplateProblem for anything that goes wrong in it."""
    try:
        template = _ENV.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(error.message or str(error), error.lineno) from error
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateProblem(f"The template wrote more than {MAX_OUTPUT:,} characters.")
            out.append(chunk)
        return "".join(out)
    except TemplateProblem:
        raise
    except TemplateError as error:
        raise TemplateProblem(_message(error), _template_line()) from error
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as error:
        # Python errors raised by what the template computed (a division by zero, a bad
        # format string): the author's to fix, and as such a message, not a 500.
        raise TemplateProblem(_message(error), _template_line()) from error


def _message(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}" if not isinstance(error, TemplateError) else text


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
