"""X-Twilio-Signature validation, against published vectors and the documented algorithm."""

import base64
import hashlib
import hmac

import pytest

from oncall.twilio_signature import twilio_signature_valid

# The example in Twilio's request-validation documentation (as printed in twilio-php's guide).
DOCUMENTED_TOKEN = "12345"
DOCUMENTED_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCUMENTED_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOCUMENTED_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# Our own voice callback, signed below by an independent implementation of the documented steps.
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
URL = "https://tocsin.example/hooks/twilio/voice/42"
PARAMS = {
    "AccountSid": "AC" + "0" * 32,
    "CallSid": "CA" + "1" * 32,
    "CallStatus": "in-progress",
    "Digits": "1",
    "From": "+15005550006",
    "To": "+14155550100",
    "msg": "Gather End",
}


def documented_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's steps: the URL, then each POST field name+value in name order; HMAC-SHA1;
    base64."""
    data = url
    for name in sorted(params):
        data += name + params[name]
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


SIGNATURE = documented_signature(URL, PARAMS, TOKEN)


def test_twilio_documented_example_is_valid():
    assert twilio_signature_valid(
        url=DOCUMENTED_URL,
        params=DOCUMENTED_PARAMS,
        signature=DOCUMENTED_SIGNATURE,
        auth_token=DOCUMENTED_TOKEN,
    )


def test_twilio_ruby_library_sms_vector_is_valid():
    # From twilio-ruby's spec/util/request_validator_spec.rb.
    params = {
        "ToState": "CA",
        "FromState": "CA",
        "AccountSid": "ACba8bc05eacf94afdae398e642c9cc32d",
        "SmsMessageSid": "SM2003cbd5e6a3701999aa3e5f20ff2787",
        "Body": "Orly",
        "From": "+14159354345",
        "FromCity": "SAN FRANCISCO",
        "SmsStatus": "received",
        "FromZip": "94107",
        "FromCountry": "US",
        "To": "+14158141819",
        "ToCity": "SAN FRANCISCO",
        "ToZip": "94105",
        "ToCountry": "US",
        "ApiVersion": "2010-04-01",
        "SmsSid": "SM2003cbd5e6a3701999aa3e5f20ff2787",
    }
    assert twilio_signature_valid(
        url="http://twiliotests.heroku.com/validate/sms",
        params=params,
        signature="mxeiv65lEe0b8L6LdVw2jgJi8yw=",
        auth_token="2bd9e9638872de601313dc77410d3b23",
    )


def test_twilio_signature_computed_from_the_documented_steps_is_valid():
    assert twilio_signature_valid(url=URL, params=PARAMS, signature=SIGNATURE, auth_token=TOKEN)


def test_twilio_signature_fails_for_a_tampered_param():
    tampered = {**PARAMS, "Digits": "2"}

    assert not twilio_signature_valid(
        url=URL, params=tampered, signature=SIGNATURE, auth_token=TOKEN
    )


def test_twilio_signature_fails_for_an_added_param():
    extended = {**PARAMS, "SpeechResult": "acknowledge"}

    assert not twilio_signature_valid(
        url=URL, params=extended, signature=SIGNATURE, auth_token=TOKEN
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://tocsin.example/hooks/twilio/voice/43",
        "http://tocsin.example/hooks/twilio/voice/42",
        "https://tocsin.example/hooks/twilio/voice/42?retry=1",
        "https://evil.example/hooks/twilio/voice/42",
    ],
)
def test_twilio_signature_fails_for_another_url(url):
    assert not twilio_signature_valid(url=url, params=PARAMS, signature=SIGNATURE, auth_token=TOKEN)


def test_twilio_signature_fails_for_another_auth_token():
    assert not twilio_signature_valid(
        url=URL, params=PARAMS, signature=SIGNATURE, auth_token="f" * 32
    )


@pytest.mark.parametrize("signature", ["", "not base64", SIGNATURE[:-2]])
def test_twilio_signature_fails_when_missing_or_malformed(signature):
    assert not twilio_signature_valid(url=URL, params=PARAMS, signature=signature, auth_token=TOKEN)


def test_twilio_signature_fails_without_an_auth_token():
    unkeyed = documented_signature(URL, PARAMS, "")

    assert not twilio_signature_valid(url=URL, params=PARAMS, signature=unkeyed, auth_token="")


def test_twilio_signature_accepts_the_url_with_or_without_the_default_port():
    # Twilio may sign "https://host:443/…" for "https://host/…" and the reverse; its libraries
    # accept both.
    with_port = "https://tocsin.example:443/hooks/twilio/voice/42"
    signed_with_port = documented_signature(with_port, PARAMS, TOKEN)

    assert twilio_signature_valid(
        url=URL, params=PARAMS, signature=signed_with_port, auth_token=TOKEN
    )
    assert twilio_signature_valid(
        url=with_port, params=PARAMS, signature=SIGNATURE, auth_token=TOKEN
    )


def test_twilio_signature_does_not_ignore_a_non_default_port():
    signed_elsewhere = documented_signature(
        "https://tocsin.example:8443/hooks/twilio/voice/42", PARAMS, TOKEN
    )

    assert not twilio_signature_valid(
        url=URL, params=PARAMS, signature=signed_elsewhere, auth_token=TOKEN
    )


def test_twilio_signature_fails_quietly_for_a_url_with_a_garbled_port():
    assert not twilio_signature_valid(
        url="https://tocsin.example:port/hooks/twilio/voice/42",
        params=PARAMS,
        signature=SIGNATURE,
        auth_token=TOKEN,
    )
