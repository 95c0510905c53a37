from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.urls import reverse

from accounts.lockout import client_address

PASSWORD = "correct-horse-battery"  # set by UserFactory
LOCKED = b"Too many failed sign-in attempts"


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def admin_sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def fail(client: Client, username: str, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        sign_in(client, username, "wrong", address)


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


def test_too_many_failures_from_an_address_refuse_even_the_right_password_from_it(
    client, responder
):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT - 1)
    last = sign_in(client, "rosa", "wrong")

    response = sign_in(client, "rosa", PASSWORD)

    assert last.status_code == 429  # the failure that reaches the limit says so
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert LOCKED in response.content
    assert b'<form method="post"' in response.content  # the page, with the error on its form


def test_failures_below_the_limit_still_let_the_right_password_in(client, responder):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT - 1)

    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302


def test_the_person_still_signs_in_from_another_address_while_an_attackers_is_locked(
    client, responder
):
    # Anyone can type the name of the person on call; that must not keep them out.
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT + 5, address="198.51.100.66")

    attacker = sign_in(client, "rosa", PASSWORD, address="198.51.100.66")
    person = sign_in(client, "rosa", PASSWORD, address="203.0.113.5")

    assert attacker.status_code == 429
    assert person.status_code == 302
    assert client.session["_auth_user_id"] == str(responder.pk)


def test_failures_spread_over_many_addresses_lock_nobody_out(client, responder):
    for attempt in range(3 * settings.LOGIN_RATE_LIMIT):
        sign_in(client, "rosa", "wrong", address=f"192.0.2.{attempt + 1}")

    response = sign_in(client, "rosa", PASSWORD, address="203.0.113.5")

    assert response.status_code == 302


def test_one_address_cannot_try_unlimited_usernames(client, responder, settings):
    settings.LOGIN_ADDRESS_RATE_LIMIT = 3 * settings.LOGIN_RATE_LIMIT
    # Fewer failures per name than locks the pair: only the address ceiling can stop this.
    for attempt in range(settings.LOGIN_ADDRESS_RATE_LIMIT):
        sign_in(client, f"name{attempt}", "wrong", address="198.51.100.66")

    sprayer = sign_in(client, "rosa", PASSWORD, address="198.51.100.66")
    person = sign_in(client, "rosa", PASSWORD, address="203.0.113.5")

    assert sprayer.status_code == 429
    assert LOCKED in sprayer.content
    assert person.status_code == 302


def test_the_address_ceiling_is_far_above_the_limit_for_one_person():
    assert settings.LOGIN_ADDRESS_RATE_LIMIT >= 5 * settings.LOGIN_RATE_LIMIT


def test_signing_in_clears_the_failures_of_that_person_from_that_address(client, responder):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT - 1)
    assert sign_in(client, "rosa", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    fail(client, "rosa", settings.LOGIN_RATE_LIMIT - 1)
    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302


def test_signing_in_does_not_clear_an_addresses_failures_on_other_names(
    client, responder, settings
):
    # An attacker with an account of their own must not reset the ceiling by using it.
    settings.LOGIN_ADDRESS_RATE_LIMIT = 3 * settings.LOGIN_RATE_LIMIT
    for attempt in range(settings.LOGIN_ADDRESS_RATE_LIMIT - 1):
        sign_in(client, f"name{attempt}", "wrong", address="198.51.100.66")
    assert sign_in(client, "rosa", PASSWORD, address="198.51.100.66").status_code == 302
    client.post(reverse("accounts:logout"))

    sign_in(client, "another", "wrong", address="198.51.100.66")
    response = sign_in(client, "rosa", PASSWORD, address="198.51.100.66")

    assert response.status_code == 429


def test_a_lock_ends_when_the_window_has_passed_since_the_last_failure(client, responder):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT)
    assert sign_in(client, "rosa", PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - timedelta(seconds=settings.LOGIN_RATE_WINDOW + 1)
    )
    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302


def test_attempts_while_locked_do_not_extend_the_lock(client, responder):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - timedelta(seconds=settings.LOGIN_RATE_WINDOW - 1)
    )
    for _ in range(3):
        assert sign_in(client, "rosa", "wrong").status_code == 429

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=2))
    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 302


def test_admin_sign_in_is_locked_after_too_many_failures(client, admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    for _ in range(settings.LOGIN_RATE_LIMIT + 5):
        admin_sign_in(client, "ada", "wrong")

    response = admin_sign_in(client, "ada", PASSWORD)

    assert response.status_code == 200  # the admin's own page, with the error on its form
    assert "_auth_user_id" not in client.session
    assert LOCKED in response.content


def test_failures_on_either_sign_in_page_count_together(client, admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    half = settings.LOGIN_RATE_LIMIT // 2
    for _ in range(half):
        admin_sign_in(client, "ada", "wrong")
    fail(client, "ada", settings.LOGIN_RATE_LIMIT - half)

    response = sign_in(client, "ada", PASSWORD)

    assert response.status_code == 429


def test_admin_sign_in_with_the_right_password_still_works(client, admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])

    response = admin_sign_in(client, "ada", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)


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
        sign_in_via_proxy(client, "rosa", "wrong", f"192.0.2.{attempt}")

    response = sign_in_via_proxy(client, "rosa", PASSWORD, "192.0.2.200")

    assert response.status_code == 429


def test_behind_one_proxy_clients_are_told_apart_by_x_forwarded_for(client, responder, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    for _ in range(settings.LOGIN_RATE_LIMIT):
        sign_in_via_proxy(client, "rosa", "wrong", "198.51.100.7")

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
        sign_in_via_proxy(client, "rosa", "wrong", f"192.0.2.{attempt}, 198.51.100.7")

    response = sign_in_via_proxy(client, "rosa", PASSWORD, "192.0.2.250, 198.51.100.7")

    assert response.status_code == 429


def test_a_forwarded_entry_that_is_no_address_counts_against_the_connection(
    client, responder, settings
):
    settings.TRUSTED_PROXY_HOPS = 2  # one proxy too many: the client writes the entry read
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        response = sign_in_via_proxy(client, "rosa", "wrong", f"junk-{attempt}, 10.0.0.9")
        assert response.status_code in {200, 429}

    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "expected"),
    [
        (0, "192.0.2.1, 198.51.100.7", "10.0.0.2"),
        (1, "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        (2, "192.0.2.1, 198.51.100.7, 10.1.1.1", "198.51.100.7"),
        (2, " 192.0.2.1 ,198.51.100.7 ", "192.0.2.1"),
        (1, "2001:DB8::1", "2001:db8::1"),
        # Fewer addresses than proxies: the request skipped a proxy, so the connection counts.
        (2, "198.51.100.7", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        # Not an address (a port appended, a name, junk): the connection counts.
        (1, "198.51.100.7:4711", "10.0.0.2"),
        (1, "unknown", "10.0.0.2"),
    ],
)
def test_client_address_takes_the_nth_forwarded_address_from_the_right(
    rf, settings, hops, forwarded_for, expected
):
    settings.TRUSTED_PROXY_HOPS = hops
    request = rf.post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_address(request) == expected


def test_client_address_is_empty_when_the_connection_has_none(rf, settings):
    settings.TRUSTED_PROXY_HOPS = 0
    request = rf.post("/", REMOTE_ADDR="")

    assert client_address(request) == ""


def test_failures_from_one_ipv6_network_count_as_one_address(client, responder):
    # Anyone with an IPv6 connection holds a /64 (2^64 addresses): one address per guess
    # would escape both the pair's limit and the address ceiling.
    for attempt in range(settings.LOGIN_RATE_LIMIT):
        sign_in(client, "rosa", "wrong", address=f"2001:db8:1:2::{attempt + 1:x}")

    attacker = sign_in(client, "rosa", PASSWORD, address="2001:db8:1:2::ffff")
    person = sign_in(client, "rosa", PASSWORD, address="2001:db8:9:9::1")

    assert attacker.status_code == 429
    assert person.status_code == 302
