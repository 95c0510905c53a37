"""My paging settings (/me/paging/): contact methods, codes, test pages and notification rules."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from oncall.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationKind,
    NotificationRule,
    NotificationState,
)
from oncall.services import contacts, paging_by_hand
from oncall.views.paging_settings import SEND_BUDGET
from tests.factories import declare
from tests.oncall.factories import contact, rule
from tests.oncall.pages import CONFIRMED

pytestmark = pytest.mark.django_db

SETTINGS = "/me/paging/"


@pytest.fixture
def signed_in(client, responder):
    client.force_login(responder)
    return client


def url(name: str, **kwargs: int) -> str:
    return reverse(f"oncall:{name}", kwargs=kwargs or None)


def add(client, kind: str, address: str, label: str = ""):
    return client.post(
        url("contact-method-add"), {"kind": kind, "address": address, "label": label}
    )


def sent_code(method: ContactMethod) -> str:
    """The code as the person reads it in the message Tocsin sent."""
    notification = Notification.objects.filter(
        contact_method=method, kind=NotificationKind.VERIFICATION
    ).latest("id")
    match = re.search(r"\b(\d{6})\b", notification.body)
    assert match, notification.body
    return match[1]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def html(response) -> str:
    return response.content.decode()


def test_the_page_needs_a_signed_in_person(client):
    response = client.get(SETTINGS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_user_menu_links_to_the_paging_settings(signed_in):
    page = html(signed_in.get(reverse("incidents:list")))

    assert f'<a href="{SETTINGS}" id="paging-settings-link">Paging</a>' in page


def test_the_page_lists_my_methods_and_not_other_peoples(signed_in, responder, outsider):
    contact(responder, address="rosa@example.com")
    contact(outsider, address="otto@example.com")

    page = html(signed_in.get(SETTINGS))

    assert "rosa@example.com" in page
    assert "otto@example.com" not in page


@pytest.mark.parametrize("methods", [1, 12])
def test_the_page_costs_the_same_queries_however_many_methods_and_steps(
    signed_in, responder, methods, django_assert_max_num_queries
):
    for n in range(methods):
        rule(contact(responder, address=f"rosa{n}@example.com"), minutes=n)

    # Session and user, then my methods and my steps with their methods.
    with django_assert_max_num_queries(4):
        response = signed_in.get(SETTINGS)

    assert html(response).count('class="paging-method"') == methods


def test_adding_an_email_sends_a_code_and_asks_for_it(signed_in, responder):
    response = add(signed_in, ContactKind.EMAIL, "rosa@example.com", "Work")

    method = ContactMethod.objects.get(user=responder)
    assert response.status_code == 302
    assert response["Location"] == f"{SETTINGS}#method-{method.pk}"
    assert method.verified_at is None
    assert method.label == "Work"
    assert len(sent_code(method)) == 6
    page = html(signed_in.get(SETTINGS))
    assert "We sent a code to rosa@example.com" in page
    assert f'id="code-{method.pk}-code"' in page
    assert "Not verified" in page


def test_a_bad_phone_number_is_refused_and_nothing_is_written(signed_in):
    response = add(signed_in, ContactKind.SMS, "12345")

    assert response.status_code == 400
    assert "Enter the number in international form" in html(response)
    assert not ContactMethod.objects.exists()
    assert not Notification.objects.exists()


def test_a_bad_email_address_is_shown_at_the_address_field(signed_in):
    response = add(signed_in, ContactKind.EMAIL, "not an address")

    assert response.status_code == 400
    assert re.search(r'id="add-address_error1">Enter a valid email address', html(response))
    assert not ContactMethod.objects.exists()


def test_an_unknown_kind_is_refused(signed_in):
    response = add(signed_in, "pigeon", "rosa@example.com")

    assert response.status_code == 400
    assert "Select a valid choice" in html(response)
    assert not ContactMethod.objects.exists()


def test_the_same_method_twice_is_refused(signed_in, responder):
    contact(responder, address="rosa@example.com")

    response = add(signed_in, ContactKind.EMAIL, "rosa@example.com")

    assert response.status_code == 400
    assert "You already have this contact method." in html(response)
    assert ContactMethod.objects.count() == 1


def test_a_webhook_works_at_once_and_shows_its_secret_only_in_the_answer(signed_in, responder):
    response = add(signed_in, ContactKind.WEBHOOK, "https://hooks.example.com/rosa")

    method = ContactMethod.objects.get(user=responder)
    page = html(response)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert method.usable
    assert f'<code id="webhook-secret" class="paging-secret__value">{method.secret}</code>' in page
    assert "X-Tocsin-Signature" in page
    assert "X-Tocsin-Timestamp" in page
    assert not Notification.objects.exists()
    assert method.secret not in html(signed_in.get(SETTINGS))


def test_the_right_code_verifies_the_method(signed_in, responder):
    add(signed_in, ContactKind.SMS, "+1 415 555 0100")
    method = ContactMethod.objects.get(user=responder)

    response = signed_in.post(
        url("contact-method-verify", pk=method.pk), {"code": sent_code(method)}
    )

    method.refresh_from_db()
    assert response.status_code == 302
    assert method.usable
    assert "Verified: pages can now reach you at +14155550100." in html(signed_in.get(SETTINGS))


def test_a_code_typed_with_a_space_is_accepted(signed_in, responder):
    add(signed_in, ContactKind.EMAIL, "rosa@example.com")
    method = ContactMethod.objects.get(user=responder)
    code = sent_code(method)

    signed_in.post(url("contact-method-verify", pk=method.pk), {"code": f"{code[:3]} {code[3:]}"})

    method.refresh_from_db()
    assert method.usable


def test_a_wrong_code_is_a_form_error_and_verifies_nothing(signed_in, responder):
    add(signed_in, ContactKind.EMAIL, "rosa@example.com")
    method = ContactMethod.objects.get(user=responder)

    response = signed_in.post(
        url("contact-method-verify", pk=method.pk), {"code": wrong(sent_code(method))}
    )

    method.refresh_from_db()
    assert response.status_code == 400
    assert f'id="code-{method.pk}-code_error1">That code is not right.' in html(response)
    assert method.verified_at is None
    assert method.verification_attempts == 1


def test_something_that_is_not_a_code_is_refused_without_spending_a_try(signed_in, responder):
    add(signed_in, ContactKind.EMAIL, "rosa@example.com")
    method = ContactMethod.objects.get(user=responder)

    response = signed_in.post(url("contact-method-verify", pk=method.pk), {"code": "abc"})

    method.refresh_from_db()
    assert response.status_code == 400
    assert "Enter the 6-digit code we sent." in html(response)
    assert method.verification_attempts == 0


def test_verifying_another_persons_method_is_not_found(signed_in, outsider):
    method = contacts.contact_method_add(
        user=outsider, kind=ContactKind.EMAIL, address="otto@example.com"
    )

    response = signed_in.post(
        url("contact-method-verify", pk=method.pk), {"code": sent_code(method)}
    )

    method.refresh_from_db()
    assert response.status_code == 404
    assert method.verified_at is None


def test_a_new_code_replaces_the_old_one(signed_in, responder):
    add(signed_in, ContactKind.EMAIL, "rosa@example.com")
    method = ContactMethod.objects.get(user=responder)
    old = sent_code(method)

    response = signed_in.post(url("contact-method-send-code", pk=method.pk))
    new = sent_code(method)
    signed_in.post(
        url("contact-method-verify", pk=method.pk), {"code": old if old != new else wrong(new)}
    )

    method.refresh_from_db()
    assert response.status_code == 302
    assert Notification.objects.filter(kind=NotificationKind.VERIFICATION).count() == 2
    assert method.verified_at is None


def test_asking_a_code_for_another_persons_method_is_not_found(signed_in, outsider):
    method = contact(outsider, verified=False)

    response = signed_in.post(url("contact-method-send-code", pk=method.pk))

    assert response.status_code == 404
    assert not Notification.objects.exists()


def test_actions_refuse_get(signed_in, responder):
    method = contact(responder)

    response = signed_in.get(url("contact-method-test", pk=method.pk))

    assert response.status_code == 405
    assert not Notification.objects.exists()


def test_add_verify_and_send_a_test_page(signed_in, responder):
    add(signed_in, ContactKind.EMAIL, "rosa@example.com")
    method = ContactMethod.objects.get(user=responder)
    signed_in.post(url("contact-method-verify", pk=method.pk), {"code": sent_code(method)})

    response = signed_in.post(url("contact-method-test", pk=method.pk))

    test_page = Notification.objects.get(kind=NotificationKind.TEST)
    assert response.status_code == 302
    assert test_page.contact_method == method
    assert test_page.user == responder
    # Queued for delivery at once, not left for the tick.
    assert test_page.state == NotificationState.QUEUED
    assert "Test page on its way to rosa@example.com" in html(signed_in.get(SETTINGS))


def test_a_test_page_to_an_unverified_method_is_refused(signed_in, responder):
    method = contact(responder, verified=False)

    signed_in.post(url("contact-method-test", pk=method.pk))

    assert not Notification.objects.exists()
    assert "before sending a test page" in html(signed_in.get(SETTINGS))


def test_a_test_page_to_another_persons_method_is_not_found(signed_in, outsider):
    method = contact(outsider)

    response = signed_in.post(url("contact-method-test", pk=method.pk))

    assert response.status_code == 404
    assert not Notification.objects.exists()


def test_codes_and_test_pages_have_a_budget(signed_in, responder):
    method = contact(responder)
    for _ in range(SEND_BUDGET):
        signed_in.post(url("contact-method-test", pk=method.pk))

    signed_in.post(url("contact-method-test", pk=method.pk))

    assert Notification.objects.count() == SEND_BUDGET
    assert "Wait ten minutes" in html(signed_in.get(SETTINGS))


def test_removing_a_method_asks_first_and_removes_nothing_until_confirmed(signed_in, responder):
    method = contact(responder)

    response = signed_in.post(url("contact-method-delete", pk=method.pk))

    assert response.status_code == 200
    assert "This cannot be undone" in html(response)
    assert 'name="confirmed" value="yes"' in html(response)
    assert ContactMethod.objects.get().removed_at is None


def test_removing_a_method_removes_its_steps(signed_in, responder):
    method = contact(responder)
    rule(method)

    response = signed_in.post(url("contact-method-delete", pk=method.pk), CONFIRMED)

    assert response.status_code == 302
    assert not ContactMethod.objects.exists()
    assert not NotificationRule.objects.exists()


def test_a_method_pages_went_to_is_hidden_not_deleted_so_the_page_history_stays(
    signed_in, responder
):
    method = contact(responder, kind=ContactKind.SMS)
    rule(method)
    incident = declare(responder, title="Checkout is failing")
    paging_by_hand.page_user_for_incident(incident=incident, user=responder, actor=responder)
    page = Notification.objects.get(contact_method=method)

    response = signed_in.post(url("contact-method-delete", pk=method.pk), CONFIRMED)

    page.refresh_from_db()
    method.refresh_from_db()
    assert response.status_code == 302
    assert method.removed_at is not None and not method.usable
    assert not NotificationRule.objects.exists()
    assert page.state == NotificationState.CANCELLED
    assert page.last_error == "contact method removed"
    assert f'id="method-{method.pk}"' not in html(signed_in.get(SETTINGS))
    assert ">SMS</span>" in signed_in.get(incident.get_absolute_url()).content.decode()


def test_a_method_no_page_went_to_is_deleted_though_it_got_its_code(responder):
    method = contacts.contact_method_add(
        user=responder, kind=ContactKind.SMS, address="+14155550100"
    )

    contacts.contact_method_delete(actor=responder, method=method)

    assert not ContactMethod.objects.filter(pk=method.pk).exists()


def test_removing_a_method_twice_keeps_its_first_removal(responder):
    method = contact(responder, kind=ContactKind.SMS)
    incident = declare(responder, title="Checkout is failing")
    paging_by_hand.page_user_for_incident(incident=incident, user=responder, actor=responder)
    first = timezone.now()
    contacts.contact_method_delete(actor=responder, method=method, now=first)

    contacts.contact_method_delete(actor=responder, method=method, now=first + timedelta(hours=1))

    method.refresh_from_db()
    assert method.removed_at == first


def test_a_method_disabled_twice_is_announced_once(responder):
    method = contact(responder, kind=ContactKind.SMS)
    contact(responder, kind=ContactKind.EMAIL)
    now = timezone.now()

    for reason in ("unknown number", "unknown number, again"):
        contacts.contact_method_disable(method=method, reason=reason, now=now)

    method.refresh_from_db()
    assert method.disabled_reason == "unknown number"
    assert Notification.objects.filter(kind=NotificationKind.NOTICE).count() == 1


def test_a_removed_method_can_be_added_again(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    incident = declare(responder, title="Checkout is failing")
    paging_by_hand.page_user_for_incident(incident=incident, user=responder, actor=responder)
    contacts.contact_method_delete(actor=responder, method=method)

    again = contacts.contact_method_add(
        user=responder, kind=ContactKind.SMS, address=method.address
    )

    assert again.pk != method.pk
    assert ContactMethod.objects.filter(address=method.address).count() == 2


def test_a_removed_method_cannot_be_verified_or_tested(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    incident = declare(responder, title="Checkout is failing")
    paging_by_hand.page_user_for_incident(incident=incident, user=responder, actor=responder)
    contacts.contact_method_delete(actor=responder, method=method)

    assert signed_in.post(url("contact-method-test", pk=method.pk)).status_code == 404
    assert signed_in.post(url("contact-method-send-code", pk=method.pk)).status_code == 404


def test_removing_another_persons_method_is_not_found(signed_in, outsider):
    method = contact(outsider)

    response = signed_in.post(url("contact-method-delete", pk=method.pk))

    assert response.status_code == 404
    assert ContactMethod.objects.filter(pk=method.pk).exists()


def test_a_method_a_provider_disabled_is_announced_with_the_reason(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    contacts.contact_method_disable(
        method=method, reason="Twilio: unknown number", now=timezone.now()
    )

    page = html(signed_in.get(SETTINGS))

    assert "Tocsin stopped paging you by SMS at +15005550006" in page
    assert "Twilio: unknown number" in page
    assert ">Verify again</button>" in page


def test_verifying_a_disabled_method_again_enables_it(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    contacts.contact_method_disable(method=method, reason="unknown number", now=timezone.now())

    signed_in.post(url("contact-method-send-code", pk=method.pk))
    signed_in.post(url("contact-method-verify", pk=method.pk), {"code": sent_code(method)})

    method.refresh_from_db()
    assert method.usable
    assert "Tocsin stopped paging you" not in html(signed_in.get(SETTINGS))


def test_adding_a_step(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)

    response = signed_in.post(url("notification-rule-add"), {"method": method.pk, "minutes": "3"})

    assert response.status_code == 302
    assert response["Location"] == f"{SETTINGS}#rules"
    step = NotificationRule.objects.get()
    assert (step.user, step.contact_method, step.delay) == (
        responder,
        method,
        timedelta(minutes=3),
    )


def test_a_step_on_another_persons_method_is_refused(signed_in, responder, outsider):
    contact(responder)
    method = contact(outsider)

    response = signed_in.post(url("notification-rule-add"), {"method": method.pk, "minutes": "0"})

    assert response.status_code == 400
    assert "Select a valid choice" in html(response)
    assert not NotificationRule.objects.exists()


def test_a_step_on_an_unverified_method_is_refused(signed_in, responder):
    method = contact(responder, verified=False)

    response = signed_in.post(url("notification-rule-add"), {"method": method.pk, "minutes": "0"})

    assert response.status_code == 400
    assert not NotificationRule.objects.exists()


def test_a_step_more_than_two_hours_after_the_page_is_refused(signed_in, responder):
    method = contact(responder)

    response = signed_in.post(url("notification-rule-add"), {"method": method.pk, "minutes": "121"})

    assert response.status_code == 400
    assert 'id="rule-minutes_error1"' in html(response)
    assert not NotificationRule.objects.exists()


def test_the_same_step_twice_is_refused(signed_in, responder):
    method = contact(responder)
    rule(method, minutes=2)

    response = signed_in.post(url("notification-rule-add"), {"method": method.pk, "minutes": "2"})

    assert response.status_code == 400
    assert "You already have this step." in html(response)
    assert NotificationRule.objects.count() == 1


def test_steps_are_listed_in_order_and_summed_up(signed_in, responder):
    rule(contact(responder, kind=ContactKind.VOICE), minutes=5)
    rule(contact(responder, kind=ContactKind.SLACK), minutes=0)
    rule(contact(responder, kind=ContactKind.SMS), minutes=1)

    page = html(signed_in.get(SETTINGS))

    assert "Slack DM immediately, SMS after 1 min, Voice call after 5 min." in page
    assert page.index("Slack DM") < page.index("after 1 min") < page.index("after 5 min")


def test_a_step_on_a_disabled_method_is_shown_skipped(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    rule(method)
    contacts.contact_method_disable(method=method, reason="unknown number", now=timezone.now())

    page = html(signed_in.get(SETTINGS))

    assert "skipped: the method is disabled" in page
    assert "None of these steps can reach you now" in page


def test_removing_a_step(signed_in, responder):
    step = rule(contact(responder))

    response = signed_in.post(url("notification-rule-delete", pk=step.pk))

    assert response.status_code == 302
    assert not NotificationRule.objects.exists()


def test_removing_another_persons_step_is_not_found(signed_in, outsider):
    step = rule(contact(outsider))

    response = signed_in.post(url("notification-rule-delete", pk=step.pk))

    assert response.status_code == 404
    assert NotificationRule.objects.filter(pk=step.pk).exists()


def test_without_steps_the_page_says_every_verified_method_is_paged_at_once(signed_in, responder):
    contact(responder, address="rosa@example.com")
    contact(responder, kind=ContactKind.SMS, verified=False)

    page = html(signed_in.get(SETTINGS))

    assert "a page goes to every verified method at once:\n      Email rosa@example.com." in page
    assert ">Use the recommended steps</button>" in page


def test_without_a_verified_method_the_page_says_pages_cannot_reach_me(signed_in, responder):
    contact(responder, verified=False)

    page = html(signed_in.get(SETTINGS))

    assert "Pages cannot reach you yet" in page
    assert "Use the recommended steps" not in page


def test_the_recommended_steps_start_quiet_and_get_louder(signed_in, responder):
    email = contact(responder, kind=ContactKind.EMAIL)
    slack = contact(responder, kind=ContactKind.SLACK)
    webhook = contact(responder, kind=ContactKind.WEBHOOK)
    sms = contact(responder, kind=ContactKind.SMS)
    voice = contact(responder, kind=ContactKind.VOICE)
    contact(responder, kind=ContactKind.SMS, address="+15005550009", verified=False)

    response = signed_in.post(url("notification-rules-recommended"))

    steps = {(r.contact_method_id, r.delay) for r in NotificationRule.objects.all()}
    assert response.status_code == 302
    assert steps == {
        (email.pk, timedelta(0)),
        (slack.pk, timedelta(0)),
        (webhook.pk, timedelta(0)),
        (sms.pk, timedelta(minutes=1)),
        (voice.pk, timedelta(minutes=5)),
    }


def test_the_recommended_steps_are_not_added_over_existing_ones(signed_in, responder):
    method = contact(responder, kind=ContactKind.SMS)
    rule(method, minutes=7)

    signed_in.post(url("notification-rules-recommended"))

    assert list(NotificationRule.objects.values_list("delay", flat=True)) == [timedelta(minutes=7)]
    assert "You already have steps." in html(signed_in.get(SETTINGS))


def test_the_recommended_steps_need_a_verified_method(signed_in, responder):
    contact(responder, verified=False)

    signed_in.post(url("notification-rules-recommended"))

    assert not NotificationRule.objects.exists()
