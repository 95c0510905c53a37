"""Slack accounts linked to Tocsin users: by email in a task, or from Slack with the signed
link `/incident link` answers with, confirmed on /me/slack/link."""

from __future__ import annotations

import time

import pytest
from django.core import signing
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
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=SYSTEM)

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
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=SYSTEM)

    with pytest.raises(ValidationError, match="already linked to another"):
        people.slack_link_confirm(
            user=commander, token=people.slack_link_token("U0ROSA"), actor=commander
        )


@pytest.mark.parametrize("bad", ["C0CHANNEL", "rosa", "U0", "U0ROSA; DROP"])
def test_a_member_id_must_look_like_one(responder: User, admin_user: User, bad: str):
    with pytest.raises(ValidationError, match="starts with U or W"):
        people.slack_link_set(user=responder, slack_user_id=bad, source=HAND, actor=admin_user)


def test_a_user_may_change_only_their_own_link(responder: User, commander: User, admin_user):
    with pytest.raises(PermissionDenied):
        people.slack_link_set(user=commander, slack_user_id="U0COLE", source=HAND, actor=responder)
    with pytest.raises(PermissionDenied):
        people.slack_link_confirm(
            user=commander, token=people.slack_link_token("U0COLE"), actor=responder
        )

    people.slack_link_set(user=commander, slack_user_id="U0COLE", source=HAND, actor=admin_user)
    with pytest.raises(PermissionDenied):
        people.slack_link_remove(user=commander, actor=responder)
    assert people.slack_link_remove(user=commander, actor=SYSTEM)


def test_an_inactive_user_is_nobody_in_slack(responder: User):
    people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=SYSTEM)
    User.objects.filter(pk=responder.pk).update(is_active=False)

    assert people.user_for_slack_id("U0ROSA") is None


def test_unlinking_by_hand_is_not_undone_by_the_sync(slack_stub: SlackStub, responder: User):
    slack_stub.add_user("U0ROSA", responder.email)
    people.slack_links_sync(pace=0)

    people.slack_link_remove(user=responder, actor=responder)
    people.slack_links_sync(pace=0)

    assert people.slack_id_for_user(responder) is None


def test_a_non_admin_can_no_longer_type_a_member_id(signed_in: Client, responder: User):
    # Anyone could claim anyone's Slack account by typing its id: only Slack can vouch for it.
    with pytest.raises(PermissionDenied, match="/incident link"):
        people.slack_link_set(user=responder, slack_user_id="U0ROSA", source=HAND, actor=responder)

    page = signed_in.get("/me/slack/")
    assert b"Not linked" in page.content
    assert b"/incident link" in page.content
    assert b'name="slack_user_id"' not in page.content
    signed_in.post("/me/slack/link", {"slack_user_id": "U0ROSA"})
    assert people.slack_id_for_user(responder) is None


def test_an_admin_may_still_link_someone_by_hand(responder: User, admin_user: User):
    people.slack_link_set(user=responder, slack_user_id="u0rosa", source=HAND, actor=admin_user)

    assert people.slack_id_for_user(responder) == "U0ROSA"


def test_the_signed_link_links_the_signed_in_user_once(
    signed_in: Client, responder: User, commander: User
):
    token = people.slack_link_token("U0ROSA")

    page = signed_in.get("/me/slack/link", {"token": token})
    assert page.status_code == 200
    assert b"Link my Slack account" in page.content
    assert people.slack_id_for_user(responder) is None  # a GET changes nothing

    response = signed_in.post("/me/slack/link", {"token": token})
    assert response.status_code == 302
    assert people.slack_id_for_user(responder) == "U0ROSA"
    assert b"U0ROSA" in signed_in.get("/me/slack/").content

    # The same link opened by someone else does not take the account over.
    signed_in.force_login(commander)
    again = signed_in.post("/me/slack/link", {"token": token})
    assert again.status_code == 400
    assert b"already linked to another Tocsin user" in again.content
    assert people.slack_id_for_user(commander) is None

    signed_in.force_login(responder)
    signed_in.post("/me/slack/unlink")
    assert people.slack_id_for_user(responder) is None


def test_a_tampered_link_is_refused_with_a_form_error(signed_in: Client, responder: User):
    token = people.slack_link_token("U0ROSA")
    _payload, signature = token.split(":", 1)
    forged = people.slack_link_token("U0ADMIN").split(":", 1)[0] + ":" + signature

    for bad in (forged, token + "x", signing.dumps("U0ROSA", salt="something else")):
        response = signed_in.post("/me/slack/link", {"token": bad})
        assert response.status_code == 400
        assert b"This link is not one Tocsin made" in response.content
    assert people.slack_id_for_user(responder) is None


class SignedElevenMinutesAgo(signing.TimestampSigner):
    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 11 * 60)


def test_an_expired_link_is_refused_with_a_form_error(signed_in: Client, responder: User):
    token = SignedElevenMinutesAgo(salt=people.LINK_TOKEN_SALT).sign_object("U0ROSA")

    shown = signed_in.get("/me/slack/link", {"token": token})
    response = signed_in.post("/me/slack/link", {"token": token})

    assert shown.status_code == 400
    assert b"Link my Slack account" not in shown.content
    assert response.status_code == 400
    assert b"This link has expired" in response.content
    assert people.slack_id_for_user(responder) is None


def test_the_link_page_needs_a_sign_in_and_comes_back(client: Client):
    response = client.get("/me/slack/link", {"token": "abc"})
    assert response.status_code == 302
    assert "next=/me/slack/link%3Ftoken%3Dabc" in response["Location"]


def test_the_user_menu_links_to_the_page(signed_in: Client):
    assert b'href="/me/slack/"' in signed_in.get("/me/paging/").content


def test_the_page_needs_a_sign_in(client: Client):
    assert client.get("/me/slack/").status_code == 302
