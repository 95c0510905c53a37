"""Serializer plumbing every app's API shares: strict input, and the problem details shape."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from ops.text import UNSTORABLE_MESSAGE, unstorable_paths

# The JSON type each kind of input field takes. DRF also coerces: 0 for false, 5 for "5",
# "7" for 7; the schema promises the type, so anything else is refused.
JSON_TYPES: tuple[
    tuple[type[serializers.Field[Any, Any, Any, Any]], str, tuple[type, ...]], ...
] = (
    (serializers.BooleanField, "a JSON boolean", (bool,)),
    (serializers.IntegerField, "a JSON integer", (int,)),
    (serializers.CharField, "a JSON string", (str,)),
    (serializers.ChoiceField, "a JSON string", (str,)),
    (serializers.DateTimeField, "a JSON string", (str,)),
    (serializers.RelatedField, "a JSON string", (str,)),
)


def json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """What is wrong with the JSON type of `value` for `field`, if anything.

    Lists and objects are checked item by item; null is left to the field's allow_null.
    """
    if value is None:
        return None
    if isinstance(field, serializers.ManyRelatedField | serializers.ListField):
        child = (
            field.child_relation if isinstance(field, serializers.ManyRelatedField) else field.child
        )
        # DRF iterates what it is given: an object would pass as the list of its keys, and {}
        # as an empty list.
        if not isinstance(value, list):
            return "Must be a JSON array."
        return next(filter(None, (json_type_error(child, item) for item in value)), None)
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return "Must be a JSON object."
        values = value.values()
        return next(filter(None, (json_type_error(field.child, item) for item in values)), None)
    for kind, name, types in JSON_TYPES:
        # bool is an int in Python, not in JSON.
        if isinstance(field, kind) and (
            not isinstance(value, types) or (bool not in types and isinstance(value, bool))
        ):
            return f"Must be {name}."
    return None


# Refuses keys it does not know, so a typo or a read-only field is an error, not a no-op; values
# of another JSON type than the field's; and text PostgreSQL cannot store (NUL, unpaired
# surrogates) anywhere in the body, keys and nested values included, before any field looks it
# up or echoes it in an error.
# (A comment, not a docstring: the schema would show a docstring on every input.)
class StrictSerializer(serializers.Serializer[Any]):
    def to_internal_value(self, data: Any) -> Any:
        unstorable = unstorable_paths(data)
        if unstorable:
            raise serializers.ValidationError({path: [UNSTORABLE_MESSAGE] for path in unstorable})
        refused: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            refused = {str(key): ["Unknown field."] for key in data if key not in writable}
            for name in writable & data.keys():
                error = json_type_error(self.fields[name], data[name])
                if error:
                    refused[name] = [error]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                # A field DRF refused already keeps DRF's message.
                exc.detail.update(
                    {
                        key: [ErrorDetail(m) for m in msgs]
                        for key, msgs in refused.items()
                        if key not in exc.detail
                    }
                )
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details, as every error answers."""

    type = serializers.CharField(help_text="Always about:blank: the status says it all.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False, help_text="The request path.")
    # DRF's metaclass moves declared fields off the class, so this does not hide `.errors`.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For 400: each invalid field and what is wrong with it.",
    )


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> Any:
    """`data` (a request's body or query parameters) as `serializer_class` validates it; a
    ValidationError, the 400 problem with each field's messages, when it is invalid."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
