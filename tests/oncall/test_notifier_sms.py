"""SMS pages through Twilio's Messages API, against a local server speaking it."""

import re
from dataclasses import replace

import pytest

from oncall.models import ContactKind
from oncall.notifiers import NotifierError, Page, notifier_for
from oncall.notifiers.twilio import SMS_MAX_CHARS
from tests.oncall.factories import ACK_URL, database_down_page

PAGE = database_down_page(ContactKind.SMS, "+14155550100")


def send(page: Page = PAGE) -> str:
    return notifier_for("sms").notify(page)


def test_sms_posts_to_messages_with_basic_auth_and_returns_the_sid(twilio_stub):
    sid = send()

    [request] = twilio_stub.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_stub.account_sid}/Messages.json"
    assert request.auth == (twilio_stub.account_sid, twilio_stub.auth_token)
    assert request.status == 201
    assert request.form == {
        "To": "+14155550100",
        "From": twilio_stub.from_number,
        "Body": f"[SEV1] INC-42 Database down\nAck: {ACK_URL}",
    }
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)


def test_sms_long_subject_is_shortened_so_the_ack_link_arrives_whole(twilio_stub):
    send(replace(PAGE, subject="Database down " * 200))

    [message] = twilio_stub.messages_to("+14155550100")
    assert len(message["Body"]) <= SMS_MAX_CHARS
    assert message["Body"].endswith(f"…\nAck: {ACK_URL}")


def test_sms_without_ack_link_sends_subject_and_text(twilio_stub):
    send(replace(PAGE, subject="Tocsin test message", text="Your phone is set up.", ack_url=""))

    [message] = twilio_stub.messages_to("+14155550100")
    assert message["Body"] == "Tocsin test message\nYour phone is set up."


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 21211),  # invalid To
        (400, 21610),  # recipient replied STOP
        (400, 21614),  # not a mobile number
        (400, 21408),  # region not enabled
        (401, 20003),  # authentication failed
        (403, 20008),  # a plain 403, whatever the code
        (404, 20404),
    ],
)
def test_sms_rejected_number_or_account_is_permanent(twilio_stub, status, code):
    twilio_stub.fail_next(status=status, code=code, message="Scripted rejection")

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    # Only our own credentials failing is ours to fix rather than the number's fault.
    assert raised.value.misconfigured is (code == 20003)
    assert str(code) in raised.value.message
    assert twilio_stub.messages_to("+14155550100") == []


def test_sms_wrong_auth_token_is_permanent(twilio_stub, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    assert raised.value.misconfigured is True
    assert "20003" in raised.value.message
    [request] = twilio_stub.requests
    assert request.status == 401


def test_sms_without_credentials_is_permanent_and_sends_nothing(twilio_stub, settings):
    settings.TWILIO_AUTH_TOKEN = ""

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is True
    assert raised.value.misconfigured is True
    assert "TWILIO_AUTH_TOKEN" in raised.value.message
    twilio_stub.assert_nothing_sent()


def test_sms_rate_limit_is_transient_with_retry_after(twilio_stub):
    twilio_stub.fail_next(status=429, code=20429, message="Too Many Requests", retry_after=7)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    assert raised.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 502, 503])
def test_sms_provider_server_error_is_transient(twilio_stub, status):
    twilio_stub.fail_next(status=status, code=20500, message="Internal Server Error")

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    assert raised.value.retry_after is None


def test_sms_timeout_is_transient(twilio_stub, settings):
    settings.NOTIFIER_TIMEOUT = 0.2
    twilio_stub.stall_next(2)

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False


def test_sms_refused_connection_is_transient(twilio_stub, settings, unused_port):
    settings.TWILIO_API_URL = f"http://127.0.0.1:{unused_port}"

    with pytest.raises(NotifierError) as raised:
        send()

    assert raised.value.permanent is False
    twilio_stub.assert_nothing_sent()
