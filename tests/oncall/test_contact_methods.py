"""Contact methods: checked when added, verified with a code before any page uses them."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.actors import SYSTEM
from oncall.models import ContactKind, ContactMethod, Notification, NotificationKind
from oncall.services import contacts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def sent_code(method: ContactMethod) -> str:
    notification = Notification.objects.filter(
        contact_method=method, kind=NotificationKind.VERIFICATION
    ).latest("id")
    match = re.search(r"\b(\d{6})\b", notification.body)
    assert match, notification.body
    return match.group(1)


def test_a_new_phone_number_is_unverified_and_gets_a_code():
    user = UserFactory(username="alice")

    method = contacts.contact_method_add(
        user=user, kind=ContactKind.SMS, address="+1 (415) 555-0100"
    )

    assert method.address == "+14155550100"
    assert method.verified_at is None
    assert not method.usable
    assert len(sent_code(method)) == 6


def test_the_right_code_verifies_the_method():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="alice@example.com"
    )

    contacts.contact_method_verify(method=method, actor=method.user, code=sent_code(method))

    method.refresh_from_db()
    assert method.usable


def test_a_wrong_code_is_refused_and_counted():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="alice@example.com"
    )
    wrong = f"{(int(sent_code(method)) + 1) % 1_000_000:06d}"

    with pytest.raises(ValidationError):
        contacts.contact_method_verify(method=method, actor=method.user, code=wrong)

    method.refresh_from_db()
    assert method.verification_attempts == 1
    assert method.verified_at is None


def test_after_five_wrong_codes_even_the_right_one_is_refused():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="alice@example.com"
    )
    right = sent_code(method)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(contacts.VERIFICATION_MAX_TRIES):
        with pytest.raises(ValidationError):
            contacts.contact_method_verify(method=method, actor=method.user, code=wrong)

    with pytest.raises(ValidationError, match="expired"):
        contacts.contact_method_verify(method=method, actor=method.user, code=right)


def test_a_code_expires_after_ten_minutes():
    now = timezone.now()
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"),
        kind=ContactKind.EMAIL,
        address="alice@example.com",
        now=now,
    )

    with pytest.raises(ValidationError, match="expired"):
        contacts.contact_method_verify(
            method=method,
            actor=method.user,
            code=sent_code(method),
            now=now + timedelta(minutes=11),
        )


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        (ContactKind.EMAIL, "not-an-email"),
        (ContactKind.SMS, "0415 555 0100"),
        (ContactKind.VOICE, "call me"),
        (ContactKind.SLACK, "@alice"),
        (ContactKind.WEBHOOK, "ftp://example.com/hook"),
    ],
)
def test_an_address_that_cannot_work_is_refused_and_nothing_is_written(kind, address):
    with pytest.raises(ValidationError) as refused:
        contacts.contact_method_add(user=UserFactory(username="alice"), kind=kind, address=address)

    assert "address" in refused.value.message_dict
    assert not ContactMethod.objects.exists()
    assert not Notification.objects.exists()


def test_a_webhook_works_at_once_with_its_own_signing_secret():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"),
        kind=ContactKind.WEBHOOK,
        address="https://hooks.example.com/tocsin",
    )

    assert method.usable
    assert len(method.secret) == 64
    assert not Notification.objects.exists()


def test_the_same_address_twice_is_refused():
    user = UserFactory(username="alice")
    contacts.contact_method_add(user=user, kind=ContactKind.EMAIL, address="alice@example.com")

    with pytest.raises(ValidationError):
        contacts.contact_method_add(user=user, kind=ContactKind.EMAIL, address="alice@example.com")


def test_a_test_page_is_queued_for_the_method():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"),
        kind=ContactKind.WEBHOOK,
        address="https://h.example.com",
    )

    contacts.contact_method_send_test(method=method, actor=method.user)

    test_page = Notification.objects.get(kind=NotificationKind.TEST)
    assert test_page.contact_method == method
    assert "test page" in test_page.body


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/internal",
        "http://[::1]/hook",
        # NAT64 of the metadata address: what a viewer registered once.
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::ffff:10.0.0.7]/hook",
    ],
)
def test_a_webhook_into_the_internal_network_is_refused(settings, url):
    settings.WEBHOOK_PRIVATE_DESTINATIONS_ALLOWED = False

    with pytest.raises(ValidationError) as refused:
        contacts.contact_method_add(
            user=UserFactory(username="alice"), kind=ContactKind.WEBHOOK, address=url
        )

    assert "not a public address" in refused.value.message_dict["address"][0]
    assert not ContactMethod.objects.exists()


def test_a_test_page_hands_out_only_itself(django_capture_on_commit_callbacks):
    # A web request must not do the engine's work of handing out every due page.
    someone = UserFactory(username="bob")
    waiting = Notification.objects.create(
        key="page-waiting",
        user=someone,
        contact_method=contacts.contact_method_add(
            user=someone, kind=ContactKind.WEBHOOK, address="https://h.example.com/bob"
        ),
        due_at=timezone.now(),
        created_at=timezone.now(),
    )
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"),
        kind=ContactKind.WEBHOOK,
        address="https://h.example.com",
    )

    with django_capture_on_commit_callbacks(execute=True):
        contacts.contact_method_send_test(method=method, actor=method.user)

    waiting.refresh_from_db()
    assert waiting.state == "pending"
    assert Notification.objects.get(kind=NotificationKind.TEST).state == "queued"


def test_the_recommended_steps_follow_each_usable_method():
    user = UserFactory(username="alice")
    email = contacts.contact_method_add(user=user, kind=ContactKind.EMAIL, address="a@example.com")
    contacts.contact_method_verify(method=email, actor=email.user, code=sent_code(email))
    sms = contacts.contact_method_add(user=user, kind=ContactKind.SMS, address="+14155550100")
    contacts.contact_method_verify(method=sms, actor=sms.user, code=sent_code(sms))
    contacts.contact_method_add(user=user, kind=ContactKind.VOICE, address="+14155550101")

    rules = contacts.notification_rules_recommended(user=user)

    # Email at once, SMS a minute later; the unverified voice number gets no step.
    assert [(r.contact_method.kind, r.delay) for r in rules] == [
        (ContactKind.EMAIL, timedelta(0)),
        (ContactKind.SMS, timedelta(minutes=1)),
    ]
    with pytest.raises(ValidationError):
        contacts.notification_rules_recommended(user=user)


@pytest.mark.parametrize(
    "use",
    [
        lambda method, actor: contacts.contact_method_send_code(method=method, actor=actor),
        lambda method, actor: contacts.contact_method_verify(
            method=method, code="000000", actor=actor
        ),
        lambda method, actor: contacts.contact_method_send_test(method=method, actor=actor),
    ],
    ids=["send code", "verify", "send test"],
)
def test_only_the_owner_may_use_a_contact_method(use):
    owner, other = UserFactory(username="alice"), UserFactory(username="mallory")
    method = ContactMethod.objects.create(user=owner, kind=ContactKind.EMAIL, address="a@x.com")

    with pytest.raises(PermissionDenied):
        use(method, other)

    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda method, actor: contacts.contact_method_delete(method=method, actor=actor),
        lambda method, actor: contacts.notification_rule_add(
            method=method, actor=actor, delay=timedelta(0)
        ),
        lambda method, actor: contacts.contact_method_send_test(method=method, actor=actor),
    ],
    ids=["remove method", "add step", "send test"],
)
def test_someone_elses_contact_methods_and_steps_are_refused_with_one_message(change):
    owner, other = UserFactory(username="alice"), UserFactory(username="mallory")
    method = ContactMethod.objects.create(user=owner, kind=ContactKind.EMAIL, address="a@x.com")

    with pytest.raises(PermissionDenied) as refused:
        change(method, other)

    assert str(refused.value) == (
        "You may only change your own contact methods and notification rules."
    )


def test_an_admin_may_change_anyones_contact_methods(admin_user):
    method = ContactMethod.objects.create(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="a@x.com"
    )

    contacts.contact_method_delete(method=method, actor=admin_user)

    assert not ContactMethod.objects.exists()


def test_a_missing_actor_is_an_error_not_the_system():
    method = ContactMethod.objects.create(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="a@x.com"
    )

    with pytest.raises(TypeError):
        contacts.contact_method_send_test(method=method, actor=None)

    assert not Notification.objects.exists()


def test_the_system_sends_the_first_code_of_a_new_method():
    method = contacts.contact_method_add(
        user=UserFactory(username="alice"), kind=ContactKind.EMAIL, address="a@x.com"
    )

    contacts.contact_method_send_code(method=method, actor=SYSTEM)

    assert Notification.objects.filter(kind=NotificationKind.VERIFICATION).count() == 2
