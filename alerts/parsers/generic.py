"""Generic JSON webhook: the integration's sandboxed Jinja2 templates read the posted JSON.

Each of `title_template`, `dedup_key_template`, `severity_template` and `resolved_template` is a
Jinja2 template rendered with the posted document as `payload`, e.g.
`{{ payload.alert.name }} on {{ payload.host }}` or `{{ payload.state == "ok" }}`. A blank
template means the default below. A top-level JSON array carries up to MAX_EVENTS events.

Templates are written by integration admins but run on every delivery, so the language is cut
down to what a field mapping needs: `{{ expressions }}` and `{% if %}`, no loops or assignments, no
globals, a short list of filters, no underscore attributes, no methods beyond a few read-only
ones, and bounds on anything that could grow a string or a number. Whatever still goes wrong
while rendering becomes a PayloadError (422), never a 500.
"""

import hashlib
import json
import math
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from alerts.models import AlertStatus, Integration
from alerts.parsers.base import AlertEvent, PayloadError

MAX_EVENTS = 100
MAX_TEMPLATE_CHARS = 500
# Longest string a template may render or build on the way; a title is cut to 1024 after.
MAX_RENDERED_CHARS = 4096
MAX_LABELS = 64
MAX_LABEL_KEY_CHARS = 128
MAX_LABEL_VALUE_CHARS = 1024

TEMPLATE_FIELDS = ("title_template", "dedup_key_template", "severity_template", "resolved_template")
RESOLVED_WORDS = frozenset({"true", "1", "resolved"})
# Left out of the default dedup key: they change between deliveries of the same alert, and the
# firing and the resolved delivery of one alert must hash alike.
VOLATILE_FIELDS = frozenset(
    {
        "@timestamp",
        "timestamp",
        "time",
        "ts",
        "date",
        "datetime",
        "created_at",
        "updated_at",
        "sent_at",
        "received_at",
        "fired_at",
        "resolved_at",
        "ended_at",
        "ends_at",
        "status",
        "state",
        "resolved",
    }
)

# Read-only methods a template may call; everything else callable on a value is refused.
SAFE_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "rsplit",
        "capitalize",
        "title",
        "count",
        "find",
        "isdigit",
    }
)
SAFE_FILTERS = frozenset(
    {
        "abs",
        "attr",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "int",
        "items",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
    }
)
# Statements that could loop, define or import; a field mapping needs none of them.
FORBIDDEN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.With,
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.Scope,
    nodes.OverlayScope,
    nodes.EvalContextModifier,
    nodes.ScopedEvalContextModifier,
)


def _too_long(length: int) -> None:
    if length > MAX_RENDERED_CHARS:
        raise SecurityError(f"the template builds a value longer than {MAX_RENDERED_CHARS}")


def _bounded_join(value: Iterable[Any], d: str = "") -> str:
    parts = [str(item) for item in value]
    _too_long(sum(map(len, parts)) + len(d) * max(len(parts) - 1, 0))
    return str(d).join(parts)


def _bounded_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _too_long(len(text) + hits * max(len(new) - len(old), 0))
    return text.replace(old, new, -1 if count is None else count)


def _bounded_tojson(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    _too_long(len(text))
    return text


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Undefined values are callable too; they must keep chaining (`payload.a.b` → "").
        if callable(value) and not isinstance(value, Undefined) and attr not in SAFE_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # The default is an undefined value that renders as "": a probing template would pass
        # silently. Refusing outright tells its author at once.
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed"
        )

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%":
            if isinstance(left, str):
                raise SecurityError("string formatting with % is not allowed")
            return operator.mod(left, right)
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    _too_long(len(seq) * times)
            return operator.mul(left, right)
        if isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and right * abs(left).bit_length() > 4 * 1024:
                raise SecurityError("the power is too large")
        elif isinstance(left, float | int) and isinstance(right, float | int):
            result = float(left) ** float(right)
            if isinstance(result, complex) or not math.isfinite(result):
                raise SecurityError("the power is not a finite number")
        return operator.pow(left, right)


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=ChainableUndefined, autoescape=False)
    env.globals.clear()
    env.filters = {name: f for name, f in env.filters.items() if name in SAFE_FILTERS}
    env.filters["join"] = _bounded_join
    env.filters["replace"] = _bounded_replace
    env.filters["tojson"] = _bounded_tojson
    return env


_ENV = _environment()


def template_errors(source: str) -> list[str]:
    """Why a template would be refused; empty when it is fine. For forms and serializers."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return [f"Keep the template under {MAX_TEMPLATE_CHARS} characters."]
    try:
        template = _compile(source)
    except PayloadError as exc:
        return [str(exc)]
    try:
        # A trial on an empty document finds what the sandbox refuses whatever the data;
        # other failures (a missing field called, a division) may depend on the data.
        _render(template, {})
    except PayloadError as exc:
        if isinstance(exc.__cause__, SecurityError):
            return [str(exc)]
    return []


@lru_cache(maxsize=256)
def _compile(source: str) -> Template:
    try:
        tree = _ENV.parse(source)
    except TemplateError as exc:
        raise PayloadError(f"The template does not parse: {exc}") from exc
    for node in tree.find_all(FORBIDDEN_NODES):
        raise PayloadError(
            f"Only {{{{ expressions }}}} and {{% if %}} are allowed, not {type(node).__name__}."
        )
    names: list[Any] = [node.attr for node in tree.find_all(nodes.Getattr)]
    names += [
        node.arg.value for node in tree.find_all(nodes.Getitem) if isinstance(node.arg, nodes.Const)
    ]
    for name in names:
        if isinstance(name, str) and name.startswith("_"):
            raise PayloadError(f"Attributes starting with an underscore ({name}) are not allowed.")
    for node in tree.find_all(nodes.Filter):
        if node.name not in _ENV.filters:
            raise PayloadError(f"The filter {node.name!r} is not available.")
    try:
        return _ENV.from_string(tree)
    except TemplateError as exc:
        raise PayloadError(f"The template does not compile: {exc}") from exc


def _render(template: Template, payload: Any) -> str:
    parts: list[str] = []
    length = 0
    try:
        for chunk in template.generate(payload=payload):
            length += len(chunk)
            _too_long(length)
            parts.append(chunk)
    except SecurityError as exc:
        raise PayloadError(f"The template was stopped by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise PayloadError(f"The template failed: {exc}") from exc
    except Exception as exc:
        # Templates are user code; whatever they raise (TypeError, ZeroDivisionError,
        # OverflowError, RecursionError…) is the delivery's problem, answered with 422.
        raise PayloadError(f"The template failed: {type(exc).__name__}: {exc}") from exc
    return "".join(parts).strip()


def _render_field(integration: Integration, field: str, payload: Any) -> str | None:
    """The rendered template, or None when the integration leaves the field to the default."""
    source: str = getattr(integration, field)
    if not source.strip():
        return None
    try:
        return _render(_compile(source), payload)
    except PayloadError as exc:
        raise PayloadError(str(exc), errors={field: [str(exc)]}) from exc


def clean_text(value: str, limit: int) -> str:
    """Text PostgreSQL will store: no NUL characters, no lone surrogates, at most `limit` long."""
    text = value[:limit].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as label text (a boolean as JSON writes it); None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _labels(payload: Any) -> dict[str, str]:
    """The document's top-level scalar fields, so grouping labels (`service`…) can find them."""
    if not isinstance(payload, dict):
        return {}
    labels: dict[str, str] = {}
    for key, value in payload.items():
        text = scalar_text(value)
        if text is None:
            continue
        labels[clean_text(str(key), MAX_LABEL_KEY_CHARS)] = clean_text(text, MAX_LABEL_VALUE_CHARS)
        if len(labels) >= MAX_LABELS:
            break
    return labels


def _default_title(integration: Integration, payload: Any) -> str:
    title = payload.get("title") if isinstance(payload, dict) else None
    if isinstance(title, str) and title.strip():
        return title.strip()
    return f"Alert from {integration.name}"


def _default_dedup_key(payload: Any) -> str:
    if isinstance(payload, dict):
        ident = payload.get("id")
        if isinstance(ident, str | int) and not isinstance(ident, bool) and str(ident).strip():
            return str(ident).strip()
        payload = {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _default_severity(payload: Any) -> str:
    severity = payload.get("severity") if isinstance(payload, dict) else None
    text = scalar_text(severity)
    return text.strip() if text is not None else ""


def _default_resolved(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    if payload.get("resolved") is True:
        return True
    return any(
        isinstance(payload.get(name), str) and payload[name].strip().lower() == "resolved"
        for name in ("status", "state")
    )


def _dedup_key(rendered: str) -> str:
    # Longer keys are hashed rather than cut, so two long keys never collide by their prefix.
    if len(rendered) > 255:
        return hashlib.sha256(rendered.encode("utf-8", "replace")).hexdigest()
    return rendered


def _event(integration: Integration, payload: Any, received_at: datetime) -> AlertEvent:
    def field(name: str, default: Callable[[], str]) -> str:
        rendered = _render_field(integration, name, payload)
        return rendered if rendered else default()

    title = field("title_template", lambda: _default_title(integration, payload))
    dedup_key = field("dedup_key_template", lambda: _default_dedup_key(payload))
    severity = field("severity_template", lambda: _default_severity(payload))
    resolved_text = _render_field(integration, "resolved_template", payload)
    if resolved_text is None:
        resolved = _default_resolved(payload)
    else:
        resolved = resolved_text.lower() in RESOLVED_WORDS
    return AlertEvent(
        dedup_key=clean_text(_dedup_key(dedup_key), 255),
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        title=clean_text(title, 1024),
        starts_at=received_at,
        event_at=received_at,
        ends_at=received_at if resolved else None,
        labels=_labels(payload),
        severity_hint=clean_text(severity, 32),
    )


def parse(payload: Any, *, integration: Integration, received_at: datetime) -> list[AlertEvent]:
    """A document, or a JSON array of up to MAX_EVENTS documents, each one alert event."""
    documents = payload if isinstance(payload, list) else [payload]
    if len(documents) > MAX_EVENTS:
        raise PayloadError(
            f"A delivery carries at most {MAX_EVENTS} events; this one has {len(documents)}."
        )
    events = []
    for index, document in enumerate(documents):
        try:
            events.append(_event(integration, document, received_at))
        except PayloadError as exc:
            if len(documents) == 1:
                raise
            errors = {f"{index}.{name}": messages for name, messages in exc.errors.items()}
            raise PayloadError(f"Event {index}: {exc}", errors=errors) from exc
    return events
