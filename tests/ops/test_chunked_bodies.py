"""A body without a length (Transfer-Encoding: chunked) is refused with 411, not read as empty."""

import pytest
from django.test import Client

from alerts.models import Alert
from ops.problems import PROBLEM_CONTENT_TYPE


def chunked(client: Client, path: str, **headers: str):
    # The test client sends no Content-Length for an empty body, as gunicorn passes a chunked
    # request to Django: Transfer-Encoding set, no length.
    return client.generic("POST", path, b"", headers={"Transfer-Encoding": "chunked", **headers})


@pytest.mark.parametrize("path", ["/hooks/generic/", "/hooks/alertmanager/", "/api/v1/incidents/"])
@pytest.mark.django_db
def test_a_chunked_body_is_answered_411_as_problem_details(client, path):
    response = chunked(client, path, Authorization="Bearer whatever")

    assert response.status_code == 411
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["status"] == 411
    assert "Content-Length" in response.json()["detail"]
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_a_chunked_form_post_is_refused_before_the_view_sees_an_empty_form(client, responder):
    client.force_login(responder)

    response = chunked(client, "/incidents/new/")

    assert response.status_code == 411


@pytest.mark.django_db
def test_a_body_with_a_content_length_is_read_as_before(client):
    response = client.post("/hooks/generic/", "{}", content_type="application/json")

    assert response.status_code == 401  # got past the length check to the token
