"""Fixtures that start a provider stub, point the settings at it, and stop it at teardown; and
a redis-server of the test's own.

Each stub records everything it received (`.requests`, `.calls`, `.messages`), so a test can say
exactly what was sent, or `assert_nothing_sent()`. At teardown every HTTP stub also checks that
nothing was sent outside the API it speaks (a wrong path is a bug in the code under test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from tests.harness import PrivateRedis, free_port
from tests.stubs.slack import SlackStub
from tests.stubs.smtp import SmtpStub
from tests.stubs.twilio import TwilioStub
from tests.stubs.webhook import WebhookReceiver


@pytest.fixture
def twilio_stub(settings: Settings) -> Iterator[TwilioStub]:
    with TwilioStub() as stub:
        settings.TWILIO_API_URL = stub.url
        settings.TWILIO_ACCOUNT_SID = stub.account_sid
        settings.TWILIO_AUTH_TOKEN = stub.auth_token
        settings.TWILIO_FROM_NUMBER = stub.from_number
        yield stub
    stub.assert_nothing_unexpected()


@pytest.fixture
def slack_stub(settings: Settings) -> Iterator[SlackStub]:
    with SlackStub() as stub:
        settings.SLACK_API_URL = stub.api_url
        settings.SLACK_BOT_TOKEN = stub.token
        yield stub
    stub.assert_nothing_unexpected()


@pytest.fixture
def smtp_stub(settings: Settings) -> Iterator[SmtpStub]:
    with SmtpStub() as stub:
        settings.MAILERS = {"default": stub.mailer()}
        yield stub


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver
    receiver.assert_nothing_unexpected()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    return free_port()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own, which it may stop and restart."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
