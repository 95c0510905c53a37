from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

PASSWORD = "correct-horse-battery"  # set by UserFactory


@pytest.fixture(autouse=True)
def empty_cache():
    # Failure counts live in the cache, which outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_sign_in_with_the_right_password_opens_the_incident_list(client, responder):
    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("incidents:list")
    assert client.session["_auth_user_id"] == str(responder.pk)


def test_sign_in_with_a_wrong_password_is_refused_with_a_form_error(client, responder):
    response = sign_in(client, "rosa", "wrong")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"Please enter a correct username and password" in response.content


def test_login_page_renders_a_labelled_form(client, db):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    assert b'<label for="id_username">' in response.content
    assert b'<label for="id_password">' in response.content


def test_too_many_failures_for_a_username_refuse_even_the_right_password(client, responder):
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in(client, "rosa", "wrong", address=f"10.0.0.{attempt + 1}")

    response = sign_in(client, "rosa", PASSWORD, address="10.0.1.1")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert b"Too many failed sign-in attempts" in response.content


def test_too_many_failures_from_one_address_refuse_other_usernames(client, responder):
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in(client, f"nobody{attempt}", "wrong", address="10.9.9.9")

    response = sign_in(client, "rosa", PASSWORD, address="10.9.9.9")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_failures_below_the_limit_still_let_the_right_password_in(client, responder):
    for _ in range(settings.LOGIN_RATE_LIMIT - 1):
        sign_in(client, "rosa", "wrong")

    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302


def test_sign_out_is_a_post_that_ends_the_session(client, responder):
    client.force_login(responder)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_sign_out_refuses_a_get(client, responder):
    client.force_login(responder)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(responder.pk)
