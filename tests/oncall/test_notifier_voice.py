"""Voice pages through Twilio's Calls API with inline TwiML, against a local server speaking it."""

import re
from dataclasses import replace
from xml.etree import ElementTree

import pytest

from oncall.models import ContactKind
from oncall.notifiers import NotifierError, Page, notifier_for
from tests.oncall.factories import database_down_page

PAGE = database_down_page(ContactKind.VOICE, "+14155550100")


def call(page: Page = PAGE) -> str:
    return notifier_for("voice").notify(page)


def twiml_sent(twilio_stub) -> ElementTree.Element:
    [placed] = twilio_stub.calls_to("+14155550100")
    return ElementTree.fromstring(placed["Twiml"])  # noqa: S314 (our own TwiML)


def test_voice_posts_to_calls_with_basic_auth_and_returns_the_call_sid(twilio_stub):
    sid = call()

    [request] = twilio_stub.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_stub.account_sid}/Calls.json"
    assert request.auth == (twilio_stub.account_sid, twilio_stub.auth_token)
    assert set(request.form) == {"To", "From", "Twiml"}
    assert request.form["To"] == "+14155550100"
    assert request.form["From"] == twilio_stub.from_number
    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)


def test_voice_reads_the_subject_twice_then_asks_for_one_digit(twilio_stub, settings):
    settings.BASE_URL = "https://tocsin.example"

    call()

    response = twiml_sent(twilio_stub)
    assert response.tag == "Response"
    said = [element.text for element in response.findall("Say")]
    assert said[:2] == ["[SEV1] INC-42 Database down"] * 2
    gather = response.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == "https://tocsin.example/hooks/twilio/voice/42"
    assert gather.get("method") == "POST"
    assert [element.text for element in gather.findall("Say")] == ["Press 1 to acknowledge."]


def test_voice_escapes_markup_in_the_subject(twilio_stub):
    call(replace(PAGE, subject='INC-7 <Hangup/> & "quotes"'))

    said = [element.text for element in twiml_sent(twilio_stub).findall("Say")]
    assert said[:2] == ['INC-7 <Hangup/> & "quotes"'] * 2


def test_voice_call_without_ack_link_reads_the_text_and_offers_nothing_to_press(twilio_stub):
    call(replace(PAGE, subject="Your Tocsin verification code", text="4 7 1 1", ack_url=""))

    response = twiml_sent(twilio_stub)
    assert response.find("Gather") is None
    said = [element.text for element in response.findall("Say")]
    assert said == ["Your Tocsin verification code. 4 7 1 1"] * 2


def test_voice_invalid_number_is_permanent(twilio_stub):
    twilio_stub.fail_next(status=400, code=21211, message="Invalid 'To' Phone Number")

    with pytest.raises(NotifierError) as raised:
        call()

    assert raised.value.permanent is True
    assert twilio_stub.calls_to("+14155550100") == []


def test_voice_unavailable_provider_is_transient_with_retry_after(twilio_stub):
    twilio_stub.fail_next(status=503, code=20503, message="Service Unavailable", retry_after=30)

    with pytest.raises(NotifierError) as raised:
        call()

    assert raised.value.permanent is False
    assert raised.value.retry_after == 30
