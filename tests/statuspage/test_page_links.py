"""Where the public page leads: subscribing and the feeds, from every page, and the sign-up
pages in the page's own look, their accent style allowed by the CSP they are served with."""

import base64
import hashlib
import re

import pytest
from django.test import Client
from django.urls import reverse

from statuspage.subscriptions import tokens
from tests.statuspage.subscriptions_fixtures import email_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def acme(settings):
    settings.STATUSPAGE_NAME = "Acme"
    settings.STATUSPAGE_ACCENT_COLOR = "#aa3366"


def head(body: str) -> str:
    return body.split("</head>", 1)[0]


def test_the_page_links_to_subscribing_and_both_feeds():
    body = Client().get(reverse("statuspage:page")).content.decode()

    page = body.split("</head>", 1)[1]
    assert f'href="{reverse("statuspage:subscribe")}">Subscribe to updates</a>' in page
    assert f'href="{reverse("statuspage:history-atom")}">Atom feed</a>' in page
    assert f'href="{reverse("statuspage:history-rss")}">RSS feed</a>' in page


def test_the_page_announces_its_feeds_to_feed_readers():
    body = Client().get(reverse("statuspage:history")).content.decode()

    alternates = re.findall(r'<link rel="alternate" type="([^"]+)"[^>]*href="([^"]+)"', head(body))
    assert alternates == [
        ("application/atom+xml", reverse("statuspage:history-atom")),
        ("application/rss+xml", reverse("statuspage:history-rss")),
    ]


def test_the_subscribe_page_wears_the_page_look_and_its_csp_allows_the_accent():
    response = Client().get(reverse("statuspage:subscribe"))

    body = response.content.decode()
    assert "statuspage/status.css" in head(body)
    assert "css/tocsin.css" not in body
    assert '<span class="brand__name">Acme</span>' in body
    (style,) = re.findall(r"<style>(.*?)</style>", body, flags=re.S)
    assert style == ":root{--accent:#aa3366}"
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    style_src = response["Content-Security-Policy"].split("style-src", 1)[1].split(";", 1)[0]
    assert f"'sha256-{digest}'" in style_src


def test_an_invalid_confirmation_link_answers_in_the_page_look_too():
    response = Client().get(reverse("statuspage:subscribe_confirm", args=["forged"]))

    assert response.status_code == 400
    assert "statuspage/status.css" in head(response.content.decode())
    assert "'sha256-" in response["Content-Security-Policy"]


def test_a_valid_confirmation_link_shows_its_button_in_the_page_look():
    email_subscriber("pat@example.com", confirmed=False)
    token = tokens.confirmation_token(tokens.SignUp(address="pat@example.com", components=None))

    response = Client().get(reverse("statuspage:subscribe_confirm", args=[token]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Confirm" in body
    assert "statuspage/status.css" in head(body)
    assert '<span class="brand__name">Acme</span>' in body
    (style,) = re.findall(r"<style>(.*?)</style>", body, flags=re.S)
    assert style == ":root{--accent:#aa3366}"
    assert "'sha256-" in response["Content-Security-Policy"]
