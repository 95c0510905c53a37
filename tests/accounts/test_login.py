from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.forms import client_address

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


def sign_in_via_proxy(
    client: Client, username: str, password: str, forwarded_for: str, proxy: str = "10.0.0.2"
) -> Any:
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, responder, settings):
    settings.TRUSTED_PROXY_HOPS = 0
    # A client varying the header still fails from one address, and is stopped.
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in_via_proxy(client, f"nobody{attempt}", "wrong", f"192.0.2.{attempt}")

    response = sign_in_via_proxy(client, "rosa", PASSWORD, "192.0.2.200")

    assert response.status_code == 429


def test_behind_one_proxy_clients_are_told_apart_by_x_forwarded_for(client, responder, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in_via_proxy(client, f"nobody{attempt}", "wrong", "198.51.100.7")

    blocked = sign_in_via_proxy(client, "rosa", PASSWORD, "198.51.100.7")
    other_client = sign_in_via_proxy(client, "rosa", PASSWORD, "203.0.113.9")

    assert blocked.status_code == 429
    assert other_client.status_code == 302


def test_behind_one_proxy_a_client_cannot_escape_by_prepending_addresses(
    client, responder, settings
):
    settings.TRUSTED_PROXY_HOPS = 1
    # The proxy appends the address it saw; what the client wrote stays on the left.
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in_via_proxy(client, f"nobody{attempt}", "wrong", f"192.0.2.{attempt}, 198.51.100.7")

    response = sign_in_via_proxy(client, "rosa", PASSWORD, "192.0.2.250, 198.51.100.7")

    assert response.status_code == 429


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1, 198.51.100.7", "10.0.0.2"),
        (1, "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        (2, "192.0.2.1, 198.51.100.7, 10.1.1.1", "198.51.100.7"),
        (2, " 192.0.2.1 ,198.51.100.7 ", "192.0.2.1"),
        # Fewer addresses than proxies: the request skipped a proxy, so the connection counts.
        (2, "198.51.100.7", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_address_takes_the_nth_forwarded_address_from_the_right(
    rf, settings, hops, forwarded_for, expected
):
    settings.TRUSTED_PROXY_HOPS = hops
    request = rf.post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_address(request) == expected
