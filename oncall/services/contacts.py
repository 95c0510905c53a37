"""Ways to reach a person: contact methods, their verification, and notification rules."""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction

from accounts.actors import SYSTEM, Actor
from accounts.models import User
from oncall.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationKind,
    NotificationRule,
    NotificationState,
)
from oncall.notifiers.webhook import destination_refused
from oncall.services import handoff
from oncall.services.base import clock, require_owner

VERIFICATION_TTL = timedelta(minutes=10)
VERIFICATION_MAX_TRIES = 5


def contact_method_disable(*, method: ContactMethod, reason: str, now: datetime) -> None:
    """A provider said this address can never work: stop using it and tell its owner.

    Saved, not updated, so the audit trail records it; a task calls this, outside any request,
    so the entry is Tocsin's."""
    with transaction.atomic():
        # Locked and re-read: of two deliveries failing at once, one disables and tells. No
        # key lock, as the UPDATE this replaced took: pages being created for it need not wait.
        locked = (
            ContactMethod.objects.select_for_update(no_key=True)
            .filter(pk=method.pk, disabled_at__isnull=True)
            .first()
        )
        if locked is None:
            return
        locked.disabled_at = now
        locked.disabled_reason = reason[:500]
        locked.save(update_fields=["disabled_at", "disabled_reason"])
        _tell_disabled(locked, reason=reason, now=now)


def _tell_disabled(method: ContactMethod, *, reason: str, now: datetime) -> None:
    others = ContactMethod.objects.filter(
        user_id=method.user_id,
        kind=ContactKind.EMAIL,
        verified_at__isnull=False,
        disabled_at__isnull=True,
    ).exclude(pk=method.pk)
    for other in others[:1]:
        Notification.objects.create(
            key=f"notice:disabled:{method.pk}:{int(now.timestamp())}",
            kind=NotificationKind.NOTICE,
            user_id=method.user_id,
            contact_method=other,
            body=(
                f"Tocsin stopped paging you by {method.get_kind_display()} at {method.address}: "
                f"{reason}. Fix it on your profile page and verify it again."
            ),
            due_at=now,
            created_at=now,
        )


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _clean_address(kind: ContactKind, address: str) -> str:
    address = address.strip()
    if kind == ContactKind.EMAIL:
        validate_email(address)
        return address
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        number = re.sub(r"[\s().-]", "", address)
        if not _E164.match(number):
            raise ValidationError(
                {"address": "Enter the number in international form, e.g. +14155550100."}
            )
        return number
    if kind == ContactKind.SLACK:
        if not _SLACK_USER.match(address):
            raise ValidationError({"address": "Enter a Slack member ID, e.g. U024BE7LH."})
        return address
    if kind == ContactKind.WEBHOOK:
        URLValidator(schemes=["https", "http"])(address)
        refused = destination_refused(address)
        if refused:
            raise ValidationError({"address": refused})
        return address
    raise ValidationError({"kind": f"Unknown contact method {kind!r}."})


def contact_method_add(
    *, user: User, kind: ContactKind, address: str, label: str = "", now: datetime | None = None
) -> ContactMethod:
    """Add a way to reach `user`. Email, phone and Slack addresses get a verification code
    and are not paged until it is entered; a webhook is the owner's own endpoint, signed with
    a secret shown to them, and works at once."""
    now = now or clock()
    try:
        address = _clean_address(kind, address)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ValidationError({"address": error.messages}) from error
    if ContactMethod.objects.filter(
        user=user, kind=kind, address=address, removed_at__isnull=True
    ).exists():
        raise ValidationError({"address": "You already have this contact method."})
    webhook = kind == ContactKind.WEBHOOK
    method = ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address,
        label=label,
        secret=secrets.token_hex(32) if webhook else "",
        verified_at=now if webhook else None,
    )
    if not webhook:
        contact_method_send_code(method=method, actor=SYSTEM, now=now)
    return method


def contact_method_delete(
    *, actor: Actor, method: ContactMethod, now: datetime | None = None
) -> None:
    """Remove a contact method and its steps. One that pages went to is kept, disabled and
    hidden, so the incidents' page history still says how each person was paged; its pages
    not yet sent are cancelled."""
    require_owner(actor, owner_id=method.user_id)
    now = now or clock()
    with transaction.atomic():
        # Locked and re-read, so two removals at once (a double click) remove it once. No key
        # lock, as the UPDATE this replaced took: pages being created for it need not wait.
        locked = (
            ContactMethod.objects.select_for_update(no_key=True)
            .filter(pk=method.pk, removed_at__isnull=True)
            .first()
        )
        if locked is None:
            return
        method = locked
        # Its verification codes and test pages are no history worth keeping an address for.
        paged = Notification.objects.filter(contact_method=method, kind=NotificationKind.PAGE)
        if not paged.exists():
            method.delete()
            return
        Notification.objects.filter(
            contact_method=method,
            state__in=(NotificationState.PENDING, NotificationState.QUEUED),
        ).update(state=NotificationState.CANCELLED, last_error="contact method removed")
        NotificationRule.objects.filter(contact_method=method).delete()
        method.removed_at = now
        method.disabled_at = now
        method.disabled_reason = "removed by its owner"
        method.verification_code_hash = ""
        method.verification_expires_at = None
        method.save(
            update_fields=[
                "removed_at",
                "disabled_at",
                "disabled_reason",
                "verification_code_hash",
                "verification_expires_at",
            ]
        )


def notification_rule_add(
    *, actor: Actor, method: ContactMethod, delay: timedelta
) -> NotificationRule:
    """A step of how `method`'s owner wants to be paged: this method, `delay` after the page."""
    require_owner(actor, owner_id=method.user_id)
    if not timedelta(0) <= delay <= timedelta(hours=2):
        raise ValidationError({"delay": "A step comes 0 to 120 minutes after the page."})
    if NotificationRule.objects.filter(contact_method=method, delay=delay).exists():
        raise ValidationError({"delay": "You already have this step."})
    return NotificationRule.objects.create(
        user_id=method.user_id, contact_method=method, delay=delay
    )


# "Use the recommended steps": chat and email at once, a text a minute later, a call at 5.
RECOMMENDED_DELAY = {
    ContactKind.EMAIL: timedelta(0),
    ContactKind.SLACK: timedelta(0),
    ContactKind.WEBHOOK: timedelta(0),
    ContactKind.SMS: timedelta(minutes=1),
    ContactKind.VOICE: timedelta(minutes=5),
}


def notification_rules_recommended(*, user: User) -> list[NotificationRule]:
    """Give someone without steps the recommended ones over their usable contact methods."""
    with transaction.atomic():
        # One at a time per person, so a double click cannot add the steps twice.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if NotificationRule.objects.filter(user=user).exists():
            raise ValidationError("You already have steps. Remove them to start over.")
        usable = [
            method
            for method in ContactMethod.objects.filter(user=user)
            if method.usable and method.kind in RECOMMENDED_DELAY
        ]
        if not usable:
            raise ValidationError("Add and verify a contact method first.")
        return [
            notification_rule_add(
                actor=user, method=method, delay=RECOMMENDED_DELAY[ContactKind(method.kind)]
            )
            for method in usable
        ]


def notification_rule_delete(*, actor: Actor, rule: NotificationRule) -> None:
    require_owner(actor, owner_id=rule.user_id)
    rule.delete()


def _code_hash(method_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{method_id}:{code}".encode(), hashlib.sha256).hexdigest()


def contact_method_send_code(
    *, method: ContactMethod, actor: Actor, now: datetime | None = None
) -> None:
    """Send a six-digit code to the address; using it proves the address reaches its owner."""
    require_owner(actor, owner_id=method.user_id)
    now = now or clock()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        method.verification_code_hash = _code_hash(method.pk, code)
        method.verification_expires_at = now + VERIFICATION_TTL
        method.verification_attempts = 0
        method.save(
            update_fields=[
                "verification_code_hash",
                "verification_expires_at",
                "verification_attempts",
            ]
        )
        notification = Notification.objects.create(
            key=f"verify:{method.pk}:{secrets.token_hex(6)}",
            kind=NotificationKind.VERIFICATION,
            user_id=method.user_id,
            contact_method=method,
            body=f"Your Tocsin verification code is {code}. It expires in 10 minutes.",
            due_at=now,
            created_at=now,
            state=NotificationState.QUEUED,
            queued_at=now,
        )
        # Just this one: a web request must not hand out every due page in the system.
        # Robust: with the broker down the row is committed all the same, and the rescue
        # sweep (notifications_rescue_stuck) sends it once the broker is back.
        transaction.on_commit(lambda: handoff.deliver([notification.pk]), robust=True)


def contact_method_verify(
    *, method: ContactMethod, code: str, actor: Actor, now: datetime | None = None
) -> None:
    require_owner(actor, owner_id=method.user_id)
    now = now or clock()
    with transaction.atomic():
        method = ContactMethod.objects.select_for_update().get(pk=method.pk)
        expired = method.verification_expires_at is None or method.verification_expires_at < now
        if expired or method.verification_attempts >= VERIFICATION_MAX_TRIES:
            raise ValidationError({"code": "This code has expired. Send a new one."})
        right = hmac.compare_digest(method.verification_code_hash, _code_hash(method.pk, code))
        if right:
            method.verified_at = now
            method.disabled_at = None
            method.disabled_reason = ""
            method.verification_code_hash = ""
            method.verification_expires_at = None
            method.save()
        else:
            # Counted (and committed) before answering, so guessing has a budget.
            method.verification_attempts += 1
            method.save(update_fields=["verification_attempts"])
    if not right:
        raise ValidationError({"code": "That code is not right."})


def contact_method_send_test(
    *, method: ContactMethod, actor: Actor, now: datetime | None = None
) -> None:
    """The profile page's "send me a test page"."""
    require_owner(actor, owner_id=method.user_id)
    now = now or clock()
    with transaction.atomic():
        notification = Notification.objects.create(
            key=f"test:{method.pk}:{secrets.token_hex(6)}",
            kind=NotificationKind.TEST,
            user_id=method.user_id,
            contact_method=method,
            body="This is a test page from Tocsin. If you can read it, pages will reach you here.",
            due_at=now,
            created_at=now,
            state=NotificationState.QUEUED,
            queued_at=now,
        )
        # Just this one: a web request must not hand out every due page in the system.
        # Robust: with the broker down the row is committed all the same, and the rescue
        # sweep (notifications_rescue_stuck) sends it once the broker is back.
        transaction.on_commit(lambda: handoff.deliver([notification.pk]), robust=True)
