"""Slack accounts linked to Tocsin users: by email in a task, or by hand on /me/slack/."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from accounts.actors import SYSTEM
from accounts.models import User
from chatops.models import SlackUserLink
from chatops.services import people
from tests.factories import UserFactory
from tests.stubs.slack import SlackStub

pytestmark = pytest.mark.django_db

HAND = SlackUserLink.Source.HAND


def test_the_sync_links_users_by_email(slack_stub: SlackStub, responder: User):
    slack_stub.add_user("U0ROSA", responder.email)

    assert people.slack_links_sync(pace=0) == 1

    assert people.user_for_slack_id("U0ROSA") == responder
    assert people.slack_id_for_user(responder) == "U0ROSA"
    assert SlackUserLink.objects.get().source == SlackUserLink.Source.EMAIL


def test_a_miss_is_remembered_and_not_asked_again(slack_stub: SlackStub, responder: User):
    assert people.slack_links_sync(pace=0) == 0
    assert people.slack_links_sync(pace=0) == 0

    assert len(slack_stub.calls_to("users.lookupByEmail")) == 1


def test_linked_users_are_not_asked_about(slack_stub: SlackStub, responder: User):
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=responder)

    people.slack_links_sync(pace=0)

    assert slack_stub.calls_to("users.lookupByEmail") == []


def test_the_sync_stops_at_a_rate_limit_and_goes_on_next_time(slack_stub: SlackStub):
    users = [UserFactory(username=f"u{i}", email=f"u{i}@example.com") for i in range(3)]
    for i, _ in enumerate(users):
        slack_stub.add_user(f"U0U{i}", f"u{i}@example.com")
    slack_stub.rate_limit_next(30, method="users.lookupByEmail")

    assert people.slack_links_sync(pace=0) == 0
    assert people.slack_links_sync(pace=0) == 3


def test_the_sync_asks_about_at_most_a_batch(slack_stub: SlackStub):
    for i in range(3):
        UserFactory(username=f"u{i}", email=f"u{i}@example.com")

    people.slack_links_sync(pace=0, limit=2)

    assert len(slack_stub.calls_to("users.lookupByEmail")) == 2


def test_the_tick_starts_a_sync_at_most_once_per_period(db):
    assert people.slack_links_sync_due()
    assert not people.slack_links_sync_due()


def test_a_slack_account_links_one_tocsin_user(responder: User, commander: User):
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=responder)

    with pytest.raises(ValidationError, match="already linked to another"):
        people.slack_link_set(user=commander, slack_user_id="U0ROSA", source=HAND, actor=commander)


@pytest.mark.parametrize("bad", ["C0CHANNEL", "rosa", "U0", "U0ROSA; DROP"])
def test_a_member_id_must_look_like_one(responder: User, bad: str):
    with pytest.raises(ValidationError, match="starts with U or W"):
        people.slack_link_set(user=responder, slack_user_id=bad, source=HAND, actor=responder)


def test_a_user_may_change_only_their_own_link(responder: User, commander: User, admin_user):
    with pytest.raises(PermissionDenied):
        people.slack_link_set(user=commander, slack_user_id="U0COLE", source=HAND, actor=responder)

    people.slack_link_set(user=commander, slack_user_id="U0COLE", source=HAND, actor=admin_user)
    with pytest.raises(PermissionDenied):
        people.slack_link_remove(user=commander, actor=responder)
    assert people.slack_link_remove(user=commander, actor=SYSTEM)


def test_an_inactive_user_is_nobody_in_slack(responder: User):
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=responder)
    User.objects.filter(pk=responder.pk).update(is_active=False)

    assert people.user_for_slack_id("U0ROSA") is None


def test_unlinking_by_hand_is_not_undone_by_the_sync(slack_stub: SlackStub, responder: User):
    slack_stub.add_user("U0ROSA", responder.email)
    people.slack_links_sync(pace=0)

    people.slack_link_remove(user=responder, actor=responder)
    people.slack_links_sync(pace=0)

    assert people.slack_id_for_user(responder) is None


def test_the_profile_page_shows_sets_and_removes_the_link(signed_in: Client, responder: User):
    page = signed_in.get("/me/slack/")
    assert page.status_code == 200
    assert b"Not linked" in page.content

    response = signed_in.post("/me/slack/link", {"slack_user_id": "u0rosa"})
    assert response.status_code == 302
    assert people.slack_id_for_user(responder) == "U0ROSA"
    assert b"U0ROSA" in signed_in.get("/me/slack/").content

    signed_in.post("/me/slack/unlink")
    assert people.slack_id_for_user(responder) is None


def test_the_profile_form_says_when_the_account_is_taken(
    signed_in: Client, responder: User, commander: User
):
    people.slack_link_set(user=commander, slack_user_id="U0COLE", source=HAND, actor=commander)

    response = signed_in.post("/me/slack/link", {"slack_user_id": "U0COLE"})

    assert response.status_code == 400
    assert b"already linked to another Tocsin user" in response.content
    assert people.slack_id_for_user(responder) is None


def test_the_user_menu_links_to_the_page(signed_in: Client):
    assert b'href="/me/slack/"' in signed_in.get("/me/paging/").content


def test_the_page_needs_a_sign_in(client: Client):
    assert client.get("/me/slack/").status_code == 302
