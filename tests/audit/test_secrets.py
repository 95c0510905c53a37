"""Secrets never reach the audit trail, not even hashed: tokens, feed addresses, webhook
secrets, verification codes."""

import json
import re
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType

from accounts.models import ApiToken, hash_token
from accounts.services import api_token_create
from alerts.models import Integration
from alerts.models import hash_token as hash_integration_token
from alerts.services import integrations as alert_services
from audit.tracked import TRACKED
from oncall.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationKind,
    NotificationRule,
    Schedule,
)
from oncall.services import calendar_feeds, contacts, rotations
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

# What a field that holds a secret, or a hash of one, is called.
SECRET_NAME = re.compile(r"token|secret|hash|code|key|password", re.IGNORECASE)
# Named so, and no secret: what the pages show to tell tokens apart, and a template.
NOT_SECRETS = {"token_prefix", "dedup_key_template"}


def _audit_table() -> str:
    return json.dumps(list(LogEntry.objects.values()), default=str)


def _sent_code(method: ContactMethod) -> str:
    body = (
        Notification.objects.filter(contact_method=method, kind=NotificationKind.VERIFICATION)
        .latest("id")
        .body
    )
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match[1]


def test_no_secret_or_its_hash_is_recorded(manager, responder):
    team = TeamFactory(name="Payments", slug="payments")
    integration, first_token = alert_services.integration_create(
        name="Prometheus", kind="alertmanager", team=team, actor=manager
    )
    second_token = alert_services.integration_rotate_token(integration=integration, actor=manager)
    api_token, api_key = api_token_create(user=manager, name="ci")
    schedule = rotations.schedule_create(actor=manager, team=team, name="Primary")
    first_feed = schedule.feed_token
    calendar_feeds.schedule_rotate_feed_token(actor=manager, schedule=schedule)
    schedule.refresh_from_db()
    calendar = calendar_feeds.calendar_feed_rotate(user=responder)
    webhook = contacts.contact_method_add(
        user=responder, kind=ContactKind.WEBHOOK, address="https://hooks.example.com/page"
    )
    sms = contacts.contact_method_add(user=responder, kind=ContactKind.SMS, address="+15005550006")
    code = _sent_code(sms)
    code_hash = ContactMethod.objects.get(pk=sms.pk).verification_code_hash
    contacts.contact_method_verify(method=sms, code=code, actor=responder)

    table = _audit_table()

    # The trail did record these changes...
    assert LogEntry.objects.get_for_object(integration).count() >= 2
    assert LogEntry.objects.get_for_object(api_token).exists()
    assert LogEntry.objects.get_for_object(schedule).exists()
    assert LogEntry.objects.get_for_object(webhook).exists()
    assert LogEntry.objects.get_for_object(sms).filter(changes__has_key="verified_at").exists()
    # ...and none of their secrets. Prefixes, which the pages show to tell tokens apart, may be.
    secrets = {
        "integration token": first_token,
        "its rest": first_token[8:],
        "rotated integration token": second_token,
        "integration token hash": hash_integration_token(first_token),
        "rotated token hash": Integration.objects.get(pk=integration.pk).token_hash,
        "API key": api_key,
        "API key's rest": api_key[12:],
        "API key hash": hash_token(api_key),
        "stored API key hash": ApiToken.objects.get(pk=api_token.pk).key_hash,
        "schedule feed token": first_feed,
        "rotated schedule feed token": Schedule.objects.get(pk=schedule.pk).feed_token,
        "calendar feed token": calendar.token,
        "webhook secret": ContactMethod.objects.get(pk=webhook.pk).secret,
        "verification code hash": code_hash,
    }
    for what, secret in secrets.items():
        assert secret, what
        assert secret not in table, f"the {what} is in the audit trail"
    # Six digits may occur by chance in a time; as a recorded value, never.
    values = [
        value
        for changes in LogEntry.objects.values_list("changes", flat=True)
        for pair in (changes or {}).values()
        if isinstance(pair, list)
        for value in pair
    ]
    assert code not in values


@pytest.mark.parametrize("model", list(TRACKED), ids=lambda model: model.__name__)
def test_every_field_named_like_a_secret_is_left_out(model):
    fields = auditlog.get_model_fields(model)
    tracked = [
        field.name
        for field in model._meta.concrete_fields
        if (not fields["include_fields"] or field.name in fields["include_fields"])
        and field.name not in fields["exclude_fields"]
        # Recorded as "(secret)" or "(rotated)", never the value.
        and field.name not in fields["mask_fields"]
    ]

    secret_like = [name for name in tracked if SECRET_NAME.search(name)]

    assert set(secret_like) <= NOT_SECRETS


def test_a_webhook_address_is_recorded_as_its_origin_only(responder):
    method = contacts.contact_method_add(
        user=responder,
        kind=ContactKind.WEBHOOK,
        address="https://hooks.slack.com/services/T000/B000/XXXXsekritXXXX",
    )
    method.address = "https://bot:hunter2@example.com:8443/page?key=opensesame"
    method.save()

    table = _audit_table()

    for secret in ("sekrit", "hunter2", "opensesame", "/services/"):
        assert secret not in table
    entry = LogEntry.objects.get_for_object(method).latest("pk")
    assert entry.changes["address"] == ["https://hooks.slack.com/…", "https://example.com:8443/…"]
    assert entry.object_repr == "Webhook https://example.com:8443/…"


def test_a_webhook_address_is_recorded_as_its_origin_only_wherever_it_shows(responder):
    # A rule names its method, and a method its address, in the rule's entries too; a
    # provider's error text may echo a URL.
    method = contacts.contact_method_add(
        user=responder,
        kind=ContactKind.WEBHOOK,
        address="https://bot:hunter2@hooks.slack.com/services/T000/B000/XXXXsekritXXXX?key=opensesame",
    )
    contacts.notification_rule_add(actor=responder, method=method, delay=timedelta(0))
    method.disabled_reason = "Moved to https://hooks.slack.com/services/T000/B000/redirected"
    method.save()
    contacts.contact_method_delete(actor=responder, method=method)

    assert LogEntry.objects.count() >= 4
    table = _audit_table()
    for secret in ("sekrit", "hunter2", "opensesame", "/services/", "redirected"):
        assert secret not in table, secret
    rule_type = ContentType.objects.get_for_model(NotificationRule)
    rule_entry = LogEntry.objects.filter(content_type=rule_type).latest("pk")
    assert rule_entry.changes["contact_method"][0] == "Webhook https://hooks.slack.com/…"


def test_a_rotated_feed_token_is_recorded_as_rotated_only(manager, responder):
    schedule = rotations.schedule_create(actor=manager, team=TeamFactory(), name="Primary")
    calendar_feeds.schedule_rotate_feed_token(actor=manager, schedule=schedule)
    feed = calendar_feeds.calendar_feed_get_or_create(user=responder)
    calendar_feeds.calendar_feed_rotate(user=responder)

    for obj, field in ((schedule, "feed_token"), (feed, "token")):
        entry = LogEntry.objects.get_for_object(obj).latest("pk")
        assert entry.action == LogEntry.Action.UPDATE
        assert entry.changes == {field: ["(secret)", "(rotated)"]}
    created = LogEntry.objects.get_for_object(schedule).earliest("pk")
    assert created.changes["feed_token"] == ["", "(secret)"]
