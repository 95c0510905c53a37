"""The OpenAPI schema says what the API enforces, generated in one place for every view.

`ApiSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds to what drf-spectacular derives:
- strict inputs refuse unknown fields: `additionalProperties: false`;
- text that may not be blank says so (`minLength: 1`, and a `pattern` asking for one character
  that is not whitespace: DRF trims it);
- a reference by slug or username carries the length and pattern of the field it names;
- the problem-details errors each operation can answer, from what the operation takes (a body,
  query parameters, path parameters, a page) and whether it is throttled. Views add only the
  errors that need domain knowledge (409, a read that checks the role) with `problems()`.
schemathesis checks all of it against a live server: tests/test_api_schemathesis.py.
"""

from http import HTTPStatus
from types import SimpleNamespace
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ops.api.serializers import ProblemSerializer, StrictSerializer
from ops.problems import PROBLEM_CONTENT_TYPE

PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON or invalid fields or parameters; `errors` maps each to its messages.",
    401: "No credentials, or a wrong or inactive token.",
    403: "Your role may not do this (or, signed in by session, the CSRF token is missing).",
    404: "No such object, or one you may not see.",
    409: "This conflicts with the current state of what it changes; `detail` says how.",
    411: "The body came without a Content-Length (chunked): send its length.",
    413: "The request body is over the size limit.",
    415: "The body is not JSON.",
    429: "Too many requests: wait as `Retry-After` says.",
}
PAGE_NOT_FOUND = "No such page: `page` is past the last one."
PAGE_PARAMETER = "page"
# What str.strip() removes, and so what DRF trims before its blank check, spelled out: `\\s` means
# less in the ECMAScript regexes JSON Schema validators use (not U+001C-U+001F or U+0085), so a
# client checking `\\S` would send a "\\u001d" the API refuses as blank.
PYTHON_WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = f"[^{PYTHON_WHITESPACE}]"


def problems(*codes: int, **descriptions: str) -> dict[int | tuple[int, str], OpenApiResponse]:
    """Error answers an operation gives beyond those ApiSchema works out for itself.

    `descriptions` may replace a code's description, keyed `_404` and so on.
    """
    return {
        (code, PROBLEM_CONTENT_TYPE): _problem(code, descriptions.get(f"_{code}")) for code in codes
    }


def _problem(code: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description=description or PROBLEM_DESCRIPTIONS.get(code, HTTPStatus(code).phrase),
    )


class ApiSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses: dict[str, Any] = operation["responses"]
        for code, description in self._problem_codes(operation).items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    _problem(code, description), str(code), (PROBLEM_CONTENT_TYPE,)
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _problem_codes(self, operation: dict[str, Any]) -> dict[int, str | None]:
        """The errors that follow from the operation's shape, with their descriptions."""
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        in_path = any(p["in"] == "path" for p in parameters)
        has_body = "requestBody" in operation
        codes: dict[int, str | None] = {}
        if has_body or query:
            codes[400] = None
        if operation.get("security") and {} not in operation["security"]:
            codes[401] = None
        # Every write checks the caller's role in its service; reads that do say so themselves.
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes[403] = None
        if in_path and PAGE_PARAMETER in query:
            codes[404] = f"{PROBLEM_DESCRIPTIONS[404]} {PAGE_NOT_FOUND}"
        elif in_path or PAGE_PARAMETER in query:
            codes[404] = None if in_path else PAGE_NOT_FOUND
        if has_body:
            codes[411] = None
            codes[413] = None
            codes[415] = None
        if self.view.get_throttles():
            codes[429] = None
        return codes

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)  # type: ignore[no-untyped-call]
        if isinstance(force_instance(serializer), StrictSerializer):  # type: ignore[no-untyped-call]
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any] | None:
        schema: dict[str, Any] | None = super()._map_serializer_field(  # type: ignore[no-untyped-call]
            field, direction, bypass_extensions
        )
        if schema is None or direction != "request" or field.read_only:
            return schema
        queryset = getattr(field, "queryset", None)
        if isinstance(field, serializers.SlugRelatedField) and queryset is not None:
            # What names a row is limited as the named field is.
            model_field = queryset.model._meta.get_field(field.slug_field)
            # DRF reads "" as null for a relation, so "" is valid where null is.
            self._insert_field_validators(  # type: ignore[no-untyped-call]
                SimpleNamespace(validators=model_field.validators, allow_blank=field.allow_null),
                schema,
            )
        elif (
            isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
            and not {"format", "pattern", "enum"} & schema.keys()
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            # DRF strips the value before its blank check: spaces alone are blank.
            schema["minLength"] = max(schema.get("minLength", 0), 1)
            schema["pattern"] = NOT_BLANK_PATTERN
        return schema
