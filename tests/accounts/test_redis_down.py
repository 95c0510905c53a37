"""Signing in needs PostgreSQL only: with Redis refusing connections, people still get in."""

from django.conf import settings
from django.urls import reverse

from tests.accounts.test_login import LOCKED, PASSWORD, fail, sign_in


def test_sign_in_works_end_to_end_with_redis_refused(client, responder, redis_refused):
    form = client.get(reverse("accounts:login"))
    signed_in = sign_in(client, "rosa", PASSWORD)
    incidents = client.get(signed_in["Location"])

    assert form.status_code == 200
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("incidents:list")
    assert incidents.status_code == 200
    assert incidents.wsgi_request.user == responder


def test_a_wrong_password_is_a_form_error_with_redis_refused(client, responder, redis_refused):
    response = sign_in(client, "rosa", "wrong")

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_the_lock_still_holds_with_redis_refused(client, responder, redis_refused):
    fail(client, "rosa", settings.LOGIN_RATE_LIMIT)

    response = sign_in(client, "rosa", PASSWORD)

    assert response.status_code == 429
    assert LOCKED in response.content


def test_the_admin_sign_in_works_with_redis_refused(client, admin_user, redis_refused):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])

    response = client.post(
        reverse("admin:login"), {"username": "ada", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
