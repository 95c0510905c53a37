"""ops.confirm: the server asks before what cannot be undone, and the answer posts it again."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from ops.confirm import Confirmation, confirmation_page, confirmed

ASK = Confirmation(
    question="Delete the schedule <Primary>?",
    consequence="Its layers go with it. This cannot be undone.",
    action="Delete schedule",
    cancel_url="/schedules/7/",
)


def post(data: dict[str, str | list[str]], path: str = "/schedules/7/delete"):
    request = RequestFactory().post(path, data)
    request.user = AnonymousUser()  # base.html's menu is not what these tests read
    return request


def hidden_fields(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, False),
        ({"confirmed": ""}, False),
        ({"confirmed": "no"}, False),
        ({"confirmed": "yes"}, True),
    ],
)
def test_confirmed_only_when_the_post_says_yes(data, expected):
    assert confirmed(post(data)) is expected


def test_the_page_asks_the_question_and_says_what_happens():
    html = confirmation_page(post({}), ASK).content.decode()

    assert "<h1" in html and "Delete the schedule &lt;Primary&gt;?</h1>" in html
    assert "Its layers go with it. This cannot be undone." in html
    assert '<button type="submit" class="button button--danger" id="confirm-submit">' in html
    assert 'href="/schedules/7/" id="confirm-cancel">Cancel</a>' in html


def test_the_page_posts_the_same_fields_to_the_same_address_confirmed():
    request = post(
        {"csrfmiddlewaretoken": "old", "confirmed": "no", "note": '"x"', "id": ["1", "2"]},
        path="/schedules/7/delete?next=%2F",
    )

    html = confirmation_page(request, ASK).content.decode()

    assert 'action="/schedules/7/delete?next=%2F"' in html
    (csrf, token), *fields = hidden_fields(html)
    assert csrf == "csrfmiddlewaretoken"
    assert token != "old"  # the page's own
    assert fields == [
        ("note", "&quot;x&quot;"),
        ("id", "1"),
        ("id", "2"),
        ("confirmed", "yes"),
    ]
