"""The Jinja2 environment postmortem templates run in, and the budget that stops a runaway one.

Admins write templates in the browser. Jinja2's sandbox keeps them from Python's internals
(`__class__`, `__globals__`), and this module adds what a web worker also needs:

- Reach: the context is plain data (postmortems/context.py), and of that data only a short
  list of attributes per type is open (`str.upper`, `dict.items`, `datetime.strftime`, ...).
  There is no loader: `{% include %}`, `{% import %}` and `{% extends %}` are refused when the
  template is compiled, so a template never names a file.
- Time and size: a render may take `TIME_LIMIT` seconds, go round its loops `MAX_ITERATIONS`
  times, build `MAX_BUILT` characters in all and no single value above `MAX_VALUE`. Loops are
  counted by rewriting each `{% for %}` to iterate through the budget; calls, filters, tests,
  operators, attribute lookups and printed values pass through it too. Operations that
  multiply sizes (`'x' * n`, `center(n)`, `replace`, `join`, `'%9999999d'`, `**`) are checked
  before they run, since a single C-level call cannot be interrupted once started. For the
  same reason a filter that is slow for its size (`wordwrap`, pure Python) takes at most
  FILTER_INPUT_LIMITS characters, and the clock is read around every operation on a value of
  HEAVY characters or more, so no run of them goes on unseen between two readings.

A limit reached raises `Overrun`; postmortems/rendering.py turns it and every other failure
into a message with the template's line.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import BuiltinMethodType
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateRuntimeError, TemplateSyntaxError
from jinja2.runtime import Context, LoopContext, Macro, Undefined
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

TIME_LIMIT = 2.0  # seconds
MAX_ITERATIONS = 1_000_000
MAX_VALUE = 2_000_000  # characters of one string, items of one list
MAX_BUILT = 20_000_000  # characters and items built by one render, in all
MAX_WIDTH = 10_000  # a padding width or a format string's field width
TICKS_PER_CHECK = 32
# Past this many characters an operation costs more than reading the clock (~50 ns).
HEAVY = 10_000


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What a template may use of each kind of value it is given. Everything else, and anything
# starting with an underscore, is refused with a message naming it.
ALLOWED_ATTRIBUTES: tuple[tuple[type, frozenset[str]], ...] = (
    (
        str,
        _names(
            "capitalize casefold center count endswith find format format_map index isalnum "
            "isalpha isdigit islower isspace istitle isupper join ljust lower lstrip partition "
            "removeprefix removesuffix replace rfind rindex rjust rpartition rsplit rstrip "
            "split splitlines startswith strip swapcase title upper zfill"
        ),
    ),
    (bool, frozenset()),
    (int, frozenset({"real", "imag", "numerator", "denominator"})),
    (float, frozenset({"real", "imag", "is_integer"})),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (
        datetime,
        _names(
            "year month day hour minute second microsecond tzinfo date time weekday "
            "isoweekday isoformat isocalendar strftime timestamp astimezone replace "
            "utcoffset tzname"
        ),
    ),
    (date, _names("year month day weekday isoweekday isoformat isocalendar strftime")),
    (timedelta, frozenset({"days", "seconds", "microseconds", "total_seconds"})),
)

# Filters a postmortem has a use for. Left out: `random` (a document should render the same
# twice), `urlize` and `xmlattr` (HTML, not Markdown).
ALLOWED_FILTERS = _names(
    "abs attr batch capitalize center count d default dictsort e escape filesizeformat first "
    "float forceescape format groupby indent int items join last length list lower map max "
    "min pprint reject rejectattr replace reverse round safe select selectattr slice sort "
    "string striptags sum title tojson trim truncate unique upper urlencode wordcount "
    "wordwrap"
)
# Filters that turn their input into text, so its printed size counts, not its length.
STRINGIFYING_FILTERS = _names(
    "capitalize center e escape forceescape indent join lower pprint replace string "
    "striptags title tojson trim truncate upper urlencode wordcount wordwrap"
)
CONTAINERS = (list, tuple, dict, set, frozenset)
# Keyword arguments Jinja adds to calls made inside loops and blocks.
_JINJA_KWARGS = frozenset({"_loop_vars", "_block_vars"})


class Overrun(TemplateRuntimeError):
    """The template reached a limit, or tried to reach past the sandbox."""


@dataclass
class Budget:
    deadline: float
    iterations: int = MAX_ITERATIONS
    built: int = MAX_BUILT
    ticks: int = 1
    # Printed sizes of the containers weighed so far, keyed by id; the value is held so its
    # id is not reused while the render runs. Templates cannot change a list or dict
    # (ImmutableSandboxedEnvironment), so a weight stays true.
    weights: dict[int, tuple[object, int]] = field(default_factory=dict)

    def tick(self) -> None:
        # The clock is read every TICKS_PER_CHECK ticks: reading it costs more than a tick.
        self.ticks -= 1
        if self.ticks > 0:
            return
        self.check_time()

    def check_time(self) -> None:
        self.ticks = TICKS_PER_CHECK
        if time.monotonic() > self.deadline:
            raise Overrun(
                f"The template ran for more than {TIME_LIMIT:g} seconds and was stopped. "
                "Does a loop go round far more often than it should?"
            )

    def iterate(self, literal_chars: int) -> None:
        self.tick()
        self.iterations -= 1
        if self.iterations < 0:
            raise Overrun(
                f"The template went round its loops more than {MAX_ITERATIONS:,} times and "
                "was stopped. Are there loops inside loops?"
            )
        self.charge(literal_chars)

    def charge(self, amount: int) -> None:
        self.built -= amount
        if self.built < 0:
            raise Overrun(f"The template built more than {MAX_BUILT:,} characters and was stopped.")

    def allow(self, size: int, what: str, limit: int = MAX_VALUE) -> None:
        """Refuse an operation about to make a value of `size` characters or items."""
        if size > limit:
            raise Overrun(
                f"{what} would make {size:,} characters or items; the limit is {limit:,}."
            )

    def weigh(self, value: object, what: str, limit: int = MAX_VALUE) -> None:
        self.allow(self.weight(value), what, limit)

    def weight(self, value: object) -> int:
        """About how many characters `value` prints as, counting every reference into a
        shared list again (as str() does); stops counting past MAX_BUILT."""
        if isinstance(value, str | bytes):
            return len(value)
        if isinstance(value, bool) or not isinstance(value, (int, *CONTAINERS)):
            return 32
        if isinstance(value, int):
            return value.bit_length() // 3 + 1
        known = self.weights.get(id(value))
        if known is not None:
            return known[1]
        total = 2
        items: Iterable[object] = (
            (part for pair in value.items() for part in pair) if isinstance(value, dict) else value
        )
        for item in items:
            if isinstance(item, Undefined):
                # A list would print it as "Undefined"; fail as the item alone would.
                str(item)
            total += self.weight(item) + 2
            if total > MAX_BUILT:
                break
        self.weights[id(value)] = (value, total)
        return total

    def built_value[T](self, value: T, what: str) -> T:
        """Count a value an operation built against the budget; refuse one too big."""
        if isinstance(value, (str, bytes, *CONTAINERS)):
            size = len(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            size = value.bit_length() // 3 + 1
        else:
            return value
        self.allow(size, what)
        self.charge(size)
        if size >= HEAVY:
            self.check_time()
        return value


_budget: ContextVar[Budget | None] = ContextVar("postmortem_template_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """The budget of one render (or compilation: Jinja folds constants then)."""
    current = Budget(deadline=time.monotonic() + TIME_LIMIT)
    token = _budget.set(current)
    try:
        yield current
    finally:
        _budget.reset(token)


def _current() -> Budget:
    current = _budget.get()
    if current is None:
        raise RuntimeError("Postmortem templates run inside sandbox.budget().")
    return current


# Field widths and precisions in a %-format: "%-30s", "%.2f", "%*d".
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str) -> None:
    for field_match in _PERCENT_FIELD.finditer(text):
        for number in field_match.groups():
            if number == "*":
                raise Overrun("A %-format may not take its width from an argument (`*`).")
            if number is not None and int(number) > MAX_WIDTH:
                raise Overrun(
                    f"A field width of {int(number):,} is above the {MAX_WIDTH:,} allowed."
                )


def _check_format_string(text: str) -> None:
    for _literal, _name, spec, _conversion in string.Formatter().parse(text):
        if not spec:
            continue
        if "{" in spec:
            raise Overrun("A format field may not take its width from an argument.")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_WIDTH:
                raise Overrun(
                    f"A field width of {int(number):,} is above the {MAX_WIDTH:,} allowed."
                )


def _replaced_size(text: str, old: str, new: str, count: int | None) -> int:
    times = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        times = min(times, count)
    return len(text) + times * max(len(new) - len(old), 0)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int:
    """A size argument as given, or 0 for one that is not a number (the call then fails on
    its own, with Python's message)."""
    return value if isinstance(value, int) else 0


# Size predictions for filters whose output can be many times their input, given the
# filter's own arguments (after the one Jinja passes to some: environment, context, ...).
def _center(value: object, width: int = 80) -> int:
    return max(len(_text(value)), _int(width))


def _indent(s: object, width: int | str = 4, first: bool = False, blank: bool = False) -> int:
    text = _text(s)
    pad = len(width) if isinstance(width, str) else _int(width)
    return len(text) + (text.count("\n") + 1) * max(pad, 0)


def _wordwrap(
    s: object,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> int:
    text = _text(s)
    return len(text) + (len(text) + 1) * len(_text(wrapstring) or "\n")


def _replace(s: object, old: object, new: object, count: int | None = None) -> int:
    return _replaced_size(str(s), str(old), str(new), count)


def _batch(value: object, linecount: int, fill_with: object = None) -> int:
    return _int(linecount) if fill_with is not None else 0


def _slice(value: object, slices: int, fill_with: object = None) -> int:
    # A list per slice: counted as MAX_VALUE / MAX_RANGE characters each, so at most
    # MAX_RANGE slices (as many as `range` allows).
    return _int(slices) * (MAX_VALUE // MAX_RANGE)


def _format(value: object, *args: object, **kwargs: object) -> int:
    _check_percent_format(_text(value))
    return 0


def _tojson(value: object, indent: int | None = None) -> int:
    if _int(indent) > 8:
        raise Overrun("tojson indents by at most 8 spaces.")
    return 0


def _sum(iterable: object, attribute: object = None, start: object = 0) -> int:
    if not isinstance(start, int | float):
        raise Overrun("sum() adds numbers; join lists or text with `join`.")
    return 0


# Filters whose work per character is far above a C string method's, with the most text
# each may take in one call. textwrap (wordwrap) runs about 1 µs a character, and once
# started cannot be stopped: at this size one call takes a fraction of TIME_LIMIT.
# Measured and not capped: indent, center, title, striptags, wordcount, pprint, urlencode,
# each well under that on MAX_VALUE characters.
FILTER_INPUT_LIMITS: dict[str, int] = {"wordwrap": 200_000}

FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "batch": _batch,
    "slice": _slice,
    "format": _format,
    "tojson": _tojson,
    "sum": _sum,
}


def _str_method_size(text: str, name: str, args: tuple[Any, ...]) -> int:
    if name in {"center", "ljust", "rjust", "zfill"} and args:
        return max(len(text), _int(args[0]))
    if name == "replace" and len(args) >= 2:
        count = _int(args[2]) if len(args) > 2 else None
        return _replaced_size(text, str(args[0]), str(args[1]), count)
    return 0


def _guarded(name: str, func: Any, size: Callable[..., int] | None) -> Any:
    """`func` (a filter or test) passing through the budget. Jinja passes some filters an
    environment or context first (`jinja_pass_arg`, which functools.wraps copies)."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    stringifies = name in STRINGIFYING_FILTERS
    input_limit = FILTER_INPUT_LIMITS.get(name)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        current = _current()
        current.tick()
        own = args[skip:]
        if name == "join" and own and not isinstance(own[0], list | tuple | str):
            own = (list(own[0]), *own[1:])  # measured before joining, so made a list first
            args = (*args[:skip], *own)
        for value in (*own, *kwargs.values()):
            current.weigh(value, f"{name}() on a value this big", MAX_BUILT)
        if stringifies and own:
            current.weigh(own[0], f"{name}()")
        if name == "join" and own:
            separator = _text(own[1] if len(own) > 1 else kwargs.get("d", ""))
            items = own[0]
            current.allow(current.weight(items) + len(separator) * len(items), "join()")
        if size is not None:
            current.allow(size(*own, **kwargs), f"{name}()")
        heavy = bool(own) and current.weight(own[0]) >= HEAVY
        if heavy:
            if input_limit is not None and current.weight(own[0]) > input_limit:
                raise Overrun(
                    f"{name}() takes at most {input_limit:,} characters at once; this is "
                    f"{current.weight(own[0]):,}. Apply it to smaller parts, such as each entry."
                )
            current.check_time()
        result = func(*args, **kwargs)
        if heavy:
            current.check_time()
        return current.built_value(result, f"{name}()")

    return guarded


def _literal_chars(body: list[nodes.Node]) -> int:
    """Characters of template text a loop body writes on each turn, outside inner loops
    (which count their own) and macros (counted when called)."""
    total = 0
    pending: list[nodes.Node] = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        elif not isinstance(node, nodes.For | nodes.Macro | nodes.CallBlock):
            pending.extend(node.iter_child_nodes())
    return total


def _environment_call(name: str, *args: nodes.Node, lineno: int) -> nodes.Call:
    return nodes.Call(
        nodes.EnvironmentAttribute(name, lineno=lineno), list(args), [], None, None, lineno=lineno
    )


class _Rewrite(NodeTransformer):
    """Routes loops, `~` and comparisons through the budget; refuses other files."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = _environment_call(
            "loop_items", node.iter, nodes.Const(_literal_chars(node.body)), lineno=node.lineno
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return _environment_call("joined", *node.nodes, lineno=node.lineno)

    def visit_Compare(self, node: nodes.Compare) -> nodes.Compare:
        # Comparing two big structures runs in C, out of the budget's reach: weigh them first.
        self.generic_visit(node)
        node.expr = _environment_call("weighed", node.expr, lineno=node.lineno)
        for operand in node.ops:
            operand.expr = _environment_call("weighed", operand.expr, lineno=node.lineno)
        return node

    def _refuse(self, node: nodes.Node) -> nodes.Node:
        raise TemplateSyntaxError(
            "Postmortem templates cannot include, import or extend other templates or files.",
            node.lineno,
        )

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _refuse


class PostmortemEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(loader=None, finalize=self._printed, **options)
        for name in ("lipsum", "namespace"):
            # lipsum writes text of any length; namespace is the one mutable object, so a
            # loop could grow a value through it.
            del self.globals[name]
        self.filters = {
            name: _guarded(name, func, FILTER_SIZES.get(name))
            for name, func in self.filters.items()
            if name in ALLOWED_FILTERS
        }
        self.tests = {name: _guarded(name, func, None) for name, func in self.tests.items()}

    def rewrite(self, tree: nodes.Template) -> nodes.Template:
        _Rewrite().visit(tree)
        tree.set_environment(self)
        return tree

    # The rewritten template's hooks.
    def loop_items(self, iterable: Iterable[Any], literal_chars: int) -> Iterator[Any]:
        current = _current()
        for item in iterable:
            current.iterate(literal_chars)
            yield item

    def joined(self, *pieces: Any) -> str:
        current = _current()
        for piece in pieces:
            current.weigh(piece, "Joining with ~")
        return current.built_value("".join(str(piece) for piece in pieces), "Joining with ~")

    def weighed(self, value: Any) -> Any:
        _current().weigh(value, "Comparing a value this big", MAX_BUILT)
        return value

    def _printed(self, value: Any) -> Any:
        current = _current()
        current.tick()
        if type(value) is str:
            size = len(value)
        else:
            size = current.weight(value)
            current.allow(size, "Printing this value")
        current.charge(size)
        return value

    # The sandbox's own hooks.
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        for kind, names in ALLOWED_ATTRIBUTES:
            if isinstance(obj, kind):
                return attr in names
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        kind = type(obj).__name__
        article = "an" if kind[:1] in "aeiou" else "a"
        if attribute.startswith("_"):
            hint = "templates see the incident's data, not Python's internals"
        else:
            hint = "it is not one of the few a postmortem template may use"
        return self.undefined(
            f"{attribute!r} of {article} {kind} is out of a template's reach: {hint}.",
            name=attribute,
            obj=obj,
            exc=Overrun,
        )

    def getattr(self, obj: Any, attribute: str) -> Any:
        _current().tick()
        if isinstance(obj, Undefined):
            return super().getattr(obj, attribute)  # fails with the first problem's message
        if isinstance(attribute, str) and attribute.startswith("_"):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _current().tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        text: str = value.__self__

        @functools.wraps(wrapper)
        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format_string(text)
            for argument in (*args, *kwargs.values()):
                _current().weigh(argument, "Formatting this value")
            return wrapper(*args, **kwargs)

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current = _current()
        current.tick()
        what = f"The {operator} here"
        if operator == "*":
            current.allow(_product_size(left, right), what)
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                current.allow(left.bit_length() * right // 3, what)
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
            current.weigh(right, what)
        elif operator == "+" and isinstance(left, str | list | tuple):
            current.allow(
                len(left) + (len(right) if isinstance(right, str | list | tuple) else 0), what
            )
        return current.built_value(self.binop_table[operator](left, right), what)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        current = _current()
        current.tick()
        if isinstance(__obj, LoopContext) and args:
            # `loop(children)` in a recursive loop: count its turns as well.
            args = (__self.loop_items(args[0], 0), *args[1:])
        elif not isinstance(__obj, Macro) and getattr(__obj, "__self__", None) is not __self:
            # Python code may compare or print what it is given (`loop.changed(x)`, a
            # method): weigh it first. Macros are template code, and the hooks weigh their own.
            for value in (*args, *(v for k, v in kwargs.items() if k not in _JINJA_KWARGS)):
                current.weigh(value, "Passing a value this big", MAX_BUILT)
        if isinstance(__obj, BuiltinMethodType) and isinstance(__obj.__self__, str):
            name = __obj.__name__
            if name == "join" and args:
                items = list(args[0])
                separator = __obj.__self__
                current.allow(current.weight(items) + len(separator) * len(items), "join()")
                args = (items, *args[1:])
            current.allow(_str_method_size(__obj.__self__, name, args), f"{name}()")
        result = super().call(__context, __obj, *args, **kwargs)
        return current.built_value(result, "This call")


def _product_size(left: Any, right: Any) -> int:
    if isinstance(left, int) and not isinstance(right, int):
        left, right = right, left
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        return len(left) * right
    if isinstance(left, int) and isinstance(right, int):
        return (left.bit_length() + right.bit_length()) // 3
    return 0
