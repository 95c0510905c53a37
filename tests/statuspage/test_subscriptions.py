"""Email subscribers, end to end against a real SMTP server on loopback: sign up, confirm the
signed link, hear of a public update, unsubscribe in one click (RFC 8058), hear nothing more.
Forged, altered and expired links, throttled sign-ups and bad input write nothing."""

import re
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.core import signing
from django.urls import reverse

from postmortems.models import OutgoingEmail
from statuspage.models import Maintenance, Subscriber, SubscriberNotification
from statuspage.subscriptions import services, tokens
from statuspage.views_subscribe import THROTTLED_MESSAGE
from tests.statuspage.subscriptions_fixtures import (
    INTERNAL_TITLE,
    component,
    deliver_fixture,  # noqa: F401
    email_subscriber,
    maintenance_update,
    public_update,
    run_fixture,  # noqa: F401
    send_confirmations_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db

ADDRESS = "pat@example.com"
SUBSCRIBE = "/status/subscribe/"


def sign_up(client, address=ADDRESS, **extra):
    data = {"email": address, "scope": "all", **extra}
    return client.post(SUBSCRIBE, data, REMOTE_ADDR=extra.pop("ip", "203.0.113.7"))


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def link_in(message: EmailMessage, pattern: str) -> str:
    found = re.search(rf"https?://\S*{pattern}\S*/", text_of(message))
    assert found, text_of(message)
    return found.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def confirm(client, path: str):
    """What a person does: open the link, press Confirm (a form, with its CSRF token)."""
    browser = client.__class__(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page.status_code == 200, page.content
    assert b"Confirm" in page.content
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token, page.content
    return browser.post(path, {"csrfmiddlewaretoken": token.group(1).decode()})


def test_subscribe_confirm_receive_and_unsubscribe_in_one_click(
    client, smtp_stub, send_confirmations, deliver
):
    response = sign_up(client)
    assert response.status_code == 200
    assert b"Check your inbox" in response.content
    assert Subscriber.objects.get().confirmed_at is None

    send_confirmations()
    [confirmation] = smtp_stub.messages_to(ADDRESS)
    response = confirm(client, path_of(link_in(confirmation, "/subscribe/confirm/")))
    assert response.status_code == 200
    assert Subscriber.objects.get().is_active

    update = public_update(name="Payments failing", body="We are rolling back the release.")
    services.notify_public_update(update.pk)
    deliver()
    [notice] = smtp_stub.messages_to(ADDRESS)[1:]
    assert "Payments failing" in notice["Subject"]
    assert "Investigating" in notice["Subject"]
    text = text_of(notice)
    assert "We are rolling back the release." in text
    assert f"/status/incidents/{update.public_incident.code}/" in text
    assert "We are rolling back the release." in text_of(notice, "html")
    unsubscribe = notice["List-Unsubscribe"].strip().strip("<>")
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text
    assert unsubscribe in text_of(notice, "html")

    # What a mail client does (RFC 8058): a POST with no cookie, no CSRF token, no page.
    one_click = client.__class__(enforce_csrf_checks=True)
    response = one_click.post(
        path_of(unsubscribe),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at is not None

    services.notify_public_update(public_update(incident=update.public_incident).pk)
    deliver()
    assert len(smtp_stub.messages_to(ADDRESS)) == 2


def test_an_email_says_nothing_internal(smtp_stub, deliver):
    email_subscriber(ADDRESS)
    services.notify_public_update(public_update(name="Slow checkout").pk)
    deliver()

    [message] = smtp_stub.messages_to(ADDRESS)
    assert INTERNAL_TITLE not in message.as_string()
    assert "INC-" not in message.as_string()


def test_the_unsubscribe_page_asks_before_it_unsubscribes(client):
    subscriber = email_subscriber(ADDRESS)
    url = reverse("statuspage:unsubscribe", kwargs={"token": subscriber.token})

    response = client.get(url)

    assert response.status_code == 200
    assert b'name="List-Unsubscribe" value="One-Click"' in response.content
    assert Subscriber.objects.get().unsubscribed_at is None


def test_an_unknown_unsubscribe_token_changes_nothing(client):
    email_subscriber(ADDRESS)

    response = client.post("/status/unsubscribe/not-a-token/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert Subscriber.objects.get().unsubscribed_at is None


def test_a_forged_confirmation_link_is_refused(client):
    forged = signing.dumps({"a": ADDRESS, "c": None}, key="not-our-secret", salt=tokens.SALT)

    response = client.get(f"/status/subscribe/confirm/{forged}/")

    assert response.status_code == 400
    assert b"not valid" in response.content
    assert not Subscriber.objects.exists()


def test_an_altered_confirmation_link_is_refused(client):
    email_subscriber(ADDRESS, confirmed=False)
    token = tokens.confirmation_token(tokens.SignUp(address="other@example.com", components=None))
    altered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]

    response = client.get(f"/status/subscribe/confirm/{altered}/")

    assert response.status_code == 400
    assert Subscriber.objects.filter(confirmed_at__isnull=False).count() == 0


class SignedLongAgo(signing.TimestampSigner):
    """Signs with our key as if 49 hours ago."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time() - timedelta(hours=49).total_seconds()))


def test_an_expired_confirmation_link_is_refused(client, settings):
    settings.STATUSPAGE_CONFIRM_HOURS = 48
    email_subscriber(ADDRESS, confirmed=False)
    token = SignedLongAgo(salt=tokens.SALT).sign_object({"a": ADDRESS, "c": None}, compress=True)

    response = client.get(f"/status/subscribe/confirm/{token}/")

    assert response.status_code == 400
    assert b"expired" in response.content
    assert Subscriber.objects.get().confirmed_at is None


def test_a_link_within_its_hours_confirms(client):
    email_subscriber(ADDRESS, confirmed=False)
    token = tokens.confirmation_token(tokens.SignUp(address=ADDRESS, components=None))

    assert confirm(client, f"/status/subscribe/confirm/{token}/").status_code == 200
    assert Subscriber.objects.get().is_active


def test_an_unconfirmed_address_hears_nothing(smtp_stub, deliver):
    email_subscriber(ADDRESS, confirmed=False)

    assert services.notify_public_update(public_update().pk) == 0
    deliver()

    smtp_stub.assert_nothing_sent()


def test_sign_ups_for_one_address_are_throttled(client, settings):
    settings.STATUSPAGE_SIGNUPS_PER_ADDRESS = 2
    for n in range(2):
        assert sign_up(client, ip=f"203.0.113.{n}").status_code == 200

    response = sign_up(client, "PAT@example.com", ip="203.0.113.9")

    assert response.status_code == 429
    assert THROTTLED_MESSAGE.encode() in response.content
    assert OutgoingEmail.objects.count() == 2


def test_sign_ups_from_one_address_are_throttled(client, settings):
    settings.STATUSPAGE_SIGNUPS_PER_IP = 2
    for n in range(2):
        assert sign_up(client, f"person{n}@example.com").status_code == 200

    response = sign_up(client, "person9@example.com")

    assert response.status_code == 429
    assert THROTTLED_MESSAGE.encode() in response.content
    assert OutgoingEmail.objects.count() == 2
    assert not Subscriber.objects.filter(address="person9@example.com").exists()


def test_signing_up_a_subscribed_address_answers_as_for_a_new_one(client):
    email_subscriber("known@example.com")

    known = sign_up(client, "known@example.com")
    new = sign_up(client, "new@example.com")

    assert known.status_code == new.status_code == 200
    assert known.content.replace(b"known@", b"X@") == new.content.replace(b"new@", b"X@")
    # And the subscription stays as it was until the link is followed.
    assert Subscriber.objects.get(address="known@example.com").all_components


def test_a_bad_address_is_a_form_error_and_writes_nothing(client):
    response = sign_up(client, "not an address")

    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content
    assert not Subscriber.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_choosing_components_without_any_is_a_form_error(client):
    component("API")

    response = sign_up(client, scope="some")

    assert response.status_code == 400
    assert b"Choose at least one component" in response.content
    assert not Subscriber.objects.exists()


def test_a_subscriber_to_chosen_components_hears_only_of_those(
    client, smtp_stub, send_confirmations, deliver
):
    api, web = component("API"), component("Website")
    sign_up(client, scope="some", components=[api.code])
    send_confirmations()
    [confirmation] = smtp_stub.messages_to(ADDRESS)
    confirm(client, path_of(link_in(confirmation, "/subscribe/confirm/")))
    assert list(Subscriber.objects.get().components.all()) == [api]

    services.notify_public_update(public_update(components=[web], name="Website slow").pk)
    services.notify_public_update(public_update(components=[web, api], name="Both down").pk)
    deliver()

    [notice] = smtp_stub.messages_to(ADDRESS)[1:]
    assert "Both down" in notice["Subject"]


def test_a_public_update_is_queued_once_for_each_subscriber(django_assert_max_num_queries):
    for n in range(40):
        email_subscriber(f"s{n}@example.com")
    update = public_update()

    # One INSERT … SELECT for every subscriber, not a round trip each.
    with django_assert_max_num_queries(3):
        assert services.notify_public_update(update.pk) == 40
    assert services.notify_public_update(update.pk) == 0
    assert SubscriberNotification.objects.count() == 40


def test_maintenance_events_reach_subscribers_of_its_components(smtp_stub, deliver):
    db, web = component("Database"), component("Website")
    email_subscriber("db@example.com", components=[db])
    email_subscriber("web@example.com", components=[web])
    email_subscriber("all@example.com")

    services.notify_maintenance_event(maintenance_update(components=[db]).pk)
    deliver()

    assert len(smtp_stub.messages_to("db@example.com")) == 1
    assert len(smtp_stub.messages_to("all@example.com")) == 1
    assert smtp_stub.messages_to("web@example.com") == []
    [message] = smtp_stub.messages_to("db@example.com")
    assert "Database upgrade" in message["Subject"]
    upgrade = Maintenance.objects.get()
    assert f"/status/incidents/{upgrade.code}/" in text_of(message)


def test_managers_list_subscribers_in_the_admin(client):
    from tests.factories import UserFactory

    email_subscriber(ADDRESS)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.get("/admin/statuspage/subscriber/")

    assert response.status_code == 200
    assert ADDRESS.encode() in response.content


def test_the_reminder_an_hour_before_a_maintenance_is_told_once(smtp_stub, deliver):
    email_subscriber(ADDRESS)
    maintenance = maintenance_update().maintenance

    assert services.notify_maintenance(maintenance_id=maintenance.pk, event="reminder_60") == 1
    assert services.notify_maintenance(maintenance_id=maintenance.pk, event="reminder_60") == 0
    deliver()

    [message] = smtp_stub.messages_to(ADDRESS)
    assert "starts in 60 minutes" in message["Subject"]
    assert "Database upgrade" in message["Subject"]
    assert maintenance.message in text_of(message)
