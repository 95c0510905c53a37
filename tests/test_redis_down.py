"""Redis down, end to end: a real server whose cache and broker both refuse connections.

The in-process tests (tests/accounts/test_redis_down.py and their kin) refuse the cache only;
here the broker is gone too, as when the one Redis of a deployment is down.
"""

import re
from collections.abc import Iterator

import pytest
import requests
from django.urls import reverse

from accounts.models import Role, User
from oncall.models import (
    ContactMethod,
    Escalation,
    Notification,
    NotificationKind,
    NotificationState,
)
from tests.factories import UserFactory, declare
from tests.harness import Gunicorn, database_url
from tests.oncall.factories import pageable, policy

pytestmark = [
    pytest.mark.slow,
    # The server needs committed data; serialized_rollback restores the seeded severities
    # that the flush afterwards would delete.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct-horse-battery"  # set by UserFactory


@pytest.fixture
def server(unused_port, tmp_path) -> Iterator[str]:
    """gunicorn on the test database, with REDIS_URL at a port nothing listens on."""
    env = {"DATABASE_URL": database_url(), "REDIS_URL": f"redis://127.0.0.1:{unused_port}/0"}
    web = Gunicorn(tmp_path, env)
    web.start()
    yield web.url
    web.stop()


def csrf_token(response: requests.Response) -> str:
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
    assert token, "the form carries a CSRF token"
    return token[1]


def test_with_redis_down_people_sign_in_and_add_a_contact_method(server):
    person = UserFactory(username="rosa")
    session = requests.Session()

    form = session.get(f"{server}/accounts/login/", timeout=10)
    wrong = session.post(
        f"{server}/accounts/login/",
        data={"username": "rosa", "password": "wrong", "csrfmiddlewaretoken": csrf_token(form)},
        timeout=10,
    )
    signed_in = session.post(
        f"{server}/accounts/login/",
        data={"username": "rosa", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(wrong)},
        timeout=10,
    )
    paging = session.get(f"{server}/me/paging/", timeout=10)
    added = session.post(
        f"{server}/me/paging/methods/",
        data={
            "kind": "email",
            "address": "rosa@example.com",
            "label": "",
            "csrfmiddlewaretoken": csrf_token(paging),
        },
        timeout=10,
    )

    assert form.status_code == 200
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.text
    assert signed_in.status_code == 200  # the incident list, after the redirect
    assert signed_in.url == f"{server}/"
    assert signed_in.history[0].status_code == 302
    assert paging.status_code == 200
    assert added.status_code == 200, added.text  # the settings page, after the redirect
    assert "We sent a code to rosa@example.com" in added.text
    method = ContactMethod.objects.get(user=person)
    # Queued as a row: the rescue sweep sends it once the broker is back.
    code = Notification.objects.get(contact_method=method, kind=NotificationKind.VERIFICATION)
    assert code.state == NotificationState.QUEUED


def test_with_redis_down_a_responder_pages_a_person_and_escalates_by_hand(server):
    UserFactory(username="rosa", role=Role.RESPONDER)
    cole = pageable("cole")
    policy((5, [pageable("ann")]))
    incident = declare(User.objects.get(username="rosa"), title="Checkout is failing")
    session = requests.Session()
    form = session.get(f"{server}/accounts/login/", timeout=10)
    session.post(
        f"{server}/accounts/login/",
        data={"username": "rosa", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(form)},
        timeout=10,
    )
    page = session.get(f"{server}{incident.get_absolute_url()}", timeout=10)

    number = {"number": incident.number}

    paged = session.post(
        f"{server}{reverse('oncall:incident-page-user', kwargs=number)}",
        data={"user": cole.pk, "csrfmiddlewaretoken": csrf_token(page)},
        timeout=10,
    )
    # Escalate posts the level the person was asked to confirm.
    level = re.search(r'name="level" value="(\d+)"', page.text)
    assert level is not None, page.text
    escalated = session.post(
        f"{server}{reverse('oncall:incident-escalate', kwargs=number)}",
        data={"level": level[1], "csrfmiddlewaretoken": csrf_token(page)},
        timeout=10,
    )

    # The pages are rows; the tick and the rescue sweep hand them out once the broker is back.
    assert paged.status_code == 200, paged.text  # the incident page, after the redirect
    assert "Paged Cole." in paged.text
    assert escalated.status_code == 200, escalated.text
    assert Notification.objects.filter(incident=incident, user=cole).exists()
    assert Escalation.objects.filter(incident=incident).exists()
