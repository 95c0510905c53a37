"""The notifier registry and the helpers every channel shares."""

import pickle
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from oncall.notifiers import NOTIFIERS, Notifier, NotifierError, notifier_for
from oncall.notifiers.base import parse_retry_after, truncate


@pytest.mark.parametrize("method", ["email", "sms", "voice", "slack", "webhook"])
def test_every_contact_method_has_a_notifier(method):
    notifier = notifier_for(method)

    assert isinstance(notifier, Notifier)
    assert notifier.method == method
    assert type(notifier) is NOTIFIERS[method]


def test_unknown_contact_method_has_no_notifier():
    with pytest.raises(ValueError, match="pigeon"):
        notifier_for("pigeon")


def test_notifier_error_survives_pickling_with_its_classification():
    error = NotifierError("Twilio 429", permanent=False, retry_after=7.0)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)

    assert (copy.message, copy.permanent, copy.retry_after) == ("Twilio 429", False, 7.0)
    assert str(copy) == "Twilio 429"


@pytest.mark.parametrize(
    ("header", "seconds"), [("120", 120.0), ("0", 0.0), (None, None), ("", None), ("soon", None)]
)
def test_retry_after_reads_delta_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_reads_an_http_date():
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    in_90_seconds = format_datetime(datetime(2026, 3, 1, 12, 1, 30, tzinfo=UTC), usegmt=True)

    assert parse_retry_after(in_90_seconds, now=now.timestamp()) == 90.0
    assert parse_retry_after(in_90_seconds, now=now.timestamp() + 600) == 0.0


def test_truncate_keeps_short_text_and_cuts_long_text_at_a_word():
    assert truncate("Database down", 20) == "Database down"
    assert truncate("Database down in eu-west-1", 20) == "Database down in…"
    assert len(truncate("x" * 50, 20)) == 20
