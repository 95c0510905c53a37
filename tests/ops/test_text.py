"""ops.text: which text PostgreSQL can store, and where in a document it cannot."""

import pytest
from django.core.exceptions import ValidationError

from ops.text import is_storable, shown, unstorable_paths, validate_storable


@pytest.mark.parametrize("text", ["", "plain", "été ✓ 🚨", "line\nbreak"])
def test_text_without_nul_or_lone_surrogates_is_storable(text):
    assert is_storable(text)


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\ud800", "x\udfffy"])
def test_nul_and_lone_surrogates_are_not_storable(text):
    assert not is_storable(text)


def test_shown_text_escapes_what_cannot_be_encoded():
    assert shown("a\x00b\ud800") == "a\\x00b\\ud800"
    shown("\ud800").encode()


def test_bad_keys_and_values_are_found_at_any_depth():
    document = {
        "title": "fine",
        "labels": {"\x00": "v", "ok": "\ud800"},
        "items": [{"name": "x"}, {"name": "a\x00"}],
    }

    assert unstorable_paths(document) == ["labels.\\x00", "labels.ok", "items.1.name"]


def test_a_hostile_document_reports_at_most_ten_places():
    assert len(unstorable_paths({f"k{i}": "\x00" for i in range(1000)})) == 10


def test_the_validator_refuses_nested_bad_text():
    with pytest.raises(ValidationError):
        validate_storable({"a": ["\ud800"]})
    validate_storable({"a": ["b"]})
