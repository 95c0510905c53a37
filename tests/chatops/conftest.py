"""Fixtures for the chatops tests. The Slack stub itself is `slack_stub`
(tests/stubs/fixtures.py)."""

import secrets
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings


@pytest.fixture
def slack_signing_secret(settings: Settings) -> Iterator[str]:
    """The signing secret our app verifies inbound Slack requests with; sign with it
    (tests/chatops/slack_requests.py post_signed(..., secret=slack_signing_secret))."""
    secret = secrets.token_hex(16)
    settings.SLACK_SIGNING_SECRET = secret
    yield secret
