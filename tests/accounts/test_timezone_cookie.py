"""The viewer's zone comes from their profile or a cookie the browser sets; any cookie value
must leave every page working (finding 7 of issue 9)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.middleware import TIMEZONE_COOKIE
from tests.factories import declare

HOSTILE_ZONES = ["America", "a" * 300, "Europe/London\x00", "../../etc/passwd", "zone.tab"]


@pytest.mark.parametrize("value", HOSTILE_ZONES)
def test_the_sign_in_page_answers_whatever_the_zone_cookie_says(db, value):
    client = Client()
    client.cookies[TIMEZONE_COOKIE] = value

    response = client.get("/accounts/login/")

    assert response.status_code == 200


@pytest.mark.parametrize("value", HOSTILE_ZONES)
def test_a_signed_in_page_answers_whatever_the_zone_cookie_says(responder, value):
    client = Client()
    client.force_login(responder)
    client.cookies[TIMEZONE_COOKIE] = value

    response = client.get("/")

    assert response.status_code == 200


def test_a_zone_cookie_that_is_a_zone_is_used(responder):
    declare(actor=responder)
    client = Client()
    client.force_login(responder)
    client.cookies[TIMEZONE_COOKIE] = "Asia/Tokyo"

    response = client.get("/")

    assert "JST" in response.content.decode()


@pytest.mark.parametrize("value", ["America", "a" * 60, "Europe/London\x00"])
def test_a_profile_zone_must_be_an_iana_zone(responder, value):
    responder.timezone = value

    with pytest.raises(ValidationError) as caught:
        responder.full_clean()

    assert "timezone" in caught.value.message_dict
