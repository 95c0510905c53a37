"""Double opt-in that a mail scanner cannot complete: the link opens a page, its Confirm button
(a CSRF-checked POST) subscribes. A link sent before an unsubscribe, or for a subscriber since
deleted, confirms nothing."""

import re

import pytest
from django.utils import timezone

from statuspage.models import Subscriber
from statuspage.subscriptions import services, tokens
from tests.statuspage.subscriptions_fixtures import component, email_subscriber

pytestmark = pytest.mark.django_db

ADDRESS = "pat@example.com"


def link(*, components: tuple[str, ...] | None = None) -> str:
    sign_up = tokens.SignUp(address=ADDRESS, components=components, issued_at=timezone.now())
    return "/status/subscribe/confirm/" + tokens.confirmation_token(sign_up) + "/"


def press_confirm(client, path: str):
    browser = client.__class__(enforce_csrf_checks=True)
    page = browser.get(path)
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert found, page.content
    return browser.post(path, {"csrfmiddlewaretoken": found.group(1).decode()})


def test_opening_the_link_asks_and_subscribes_no_one(client, clock):
    email_subscriber(ADDRESS, confirmed=False)
    api = component("API")

    response = client.get(link(components=(api.code,)))

    assert response.status_code == 200
    assert b'<form method="post">' in response.content
    assert b"csrfmiddlewaretoken" in response.content
    assert b"API" in response.content
    assert Subscriber.objects.get().confirmed_at is None


def test_the_confirm_button_subscribes(client, clock):
    email_subscriber(ADDRESS, confirmed=False)

    response = press_confirm(client, link())

    assert response.status_code == 200
    assert Subscriber.objects.get().is_active


def test_a_post_without_the_pages_csrf_token_is_refused(client, clock):
    email_subscriber(ADDRESS, confirmed=False)
    forger = client.__class__(enforce_csrf_checks=True)

    response = forger.post(link())

    assert response.status_code == 403
    assert Subscriber.objects.get().confirmed_at is None


def test_a_link_sent_before_an_unsubscribe_does_not_subscribe_again(client, clock):
    subscriber = email_subscriber(ADDRESS)
    old = link()
    clock.advance(minutes=5)
    services.subscriber_unsubscribe(token=subscriber.token)
    clock.advance(minutes=5)

    assert client.get(old).status_code == 400
    response = client.post(old)

    assert response.status_code == 400
    assert b"no longer valid" in response.content
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


def test_a_link_sent_after_an_unsubscribe_subscribes_again(client, clock):
    subscriber = email_subscriber(ADDRESS)
    services.subscriber_unsubscribe(token=subscriber.token)
    clock.advance(minutes=5)

    assert press_confirm(client, link()).status_code == 200

    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_a_link_for_a_deleted_subscriber_brings_nothing_back(client, clock):
    old = link()
    email_subscriber(ADDRESS, confirmed=False).delete()

    assert client.get(old).status_code == 400
    assert client.post(old).status_code == 400
    assert not Subscriber.objects.exists()


def test_a_link_older_than_the_subscribers_row_confirms_nothing(client, clock):
    # The row was deleted and made again by a new sign-up: only the new link confirms.
    old = link()
    clock.advance(minutes=5)
    email_subscriber(ADDRESS, confirmed=False)

    assert client.post(old).status_code == 400
    assert Subscriber.objects.get().confirmed_at is None
