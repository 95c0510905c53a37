"""API tokens: made by `manage.py create_token`, sent as `Authorization: Token <key>`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken
from incidents.models import Incident
from tests.factories import declare
from tests.incidents.api_support import API, JsonClient, assert_problem


def _create_token(username: str, *args: str) -> str:
    out = StringIO()
    call_command("create_token", username, *args, stdout=out)
    return out.getvalue().strip()


def test_a_token_made_by_create_token_authenticates(responder):
    incident = declare(responder)
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')}")

    response = client.get(f"{API}/incidents/")

    assert response.status_code == 200
    assert response.json()["results"][0]["number"] == incident.number


def test_a_token_acts_as_its_user(responder):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')}")

    response = client.post(f"{API}/incidents/", {"title": "Down", "severity": "SEV1"})

    assert response.status_code == 201
    assert Incident.objects.get(number=response.json()["number"]).declared_by == responder


def test_create_token_stores_only_a_hash_of_the_key(responder):
    key = _create_token("rosa", "--name", "ci")

    token = ApiToken.objects.get(user=responder)
    assert token.name == "ci"
    assert token.prefix == key[:12]
    assert key not in token.key_hash


def test_create_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _create_token("nobody")


def test_a_wrong_token_is_refused_with_401(responder):
    _create_token("rosa")
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION="Token tcs_wrong")

    response = client.get(f"{API}/incidents/")

    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_a_malformed_authorization_header_is_refused_with_401(responder):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')} extra")

    assert_problem(client.get(f"{API}/incidents/"), 401)


def test_a_token_s_first_use_is_stamped(responder, clock):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')}")
    used = clock.advance(seconds=1)

    client.get(f"{API}/incidents/")

    assert ApiToken.objects.get(user=responder).last_used_at == used


def test_a_token_used_again_within_a_minute_is_not_written(responder, clock):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')}")
    first = clock.advance(seconds=1)
    client.get(f"{API}/incidents/")
    clock.advance(seconds=59)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{API}/incidents/")

    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert ApiToken.objects.get(user=responder).last_used_at == first


def test_a_token_used_a_minute_later_is_stamped_again(responder, clock):
    client = JsonClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {_create_token('rosa')}")
    clock.advance(seconds=1)
    client.get(f"{API}/incidents/")
    later = clock.advance(seconds=60)

    client.get(f"{API}/incidents/")

    assert ApiToken.objects.get(user=responder).last_used_at == later
